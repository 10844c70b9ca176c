package dev.offload.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The price of waking a sleeping thread on this machine: a token handed to another thread and back
 * through a lock and its condition, as a worker's I/O thread hands a job to its job thread (see
 * JobRunner). Each hand-off wakes a thread that was parked; a job's round trip through the service
 * takes six such wake-ups across three processes (client, supervisor, worker: there and back), so
 * this is the floor that {@link DispatchPathBenchmark}'s computation sits on.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WakeUpBenchmark {

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** The last token handed over, and the last one handed back. Guarded by lock. */
  private long sent;
  private long answered;
  private Thread partner;

  @Setup(Level.Trial)
  public void startPartner() {
    partner = Thread.ofPlatform().name("wake-up-partner").daemon(true).start(this::handBack);
  }

  @TearDown(Level.Trial)
  public void stopPartner() throws InterruptedException {
    partner.interrupt();
    partner.join(TimeUnit.SECONDS.toMillis(10));
  }

  /** Two wake-ups: the partner's, then this thread's. */
  @Benchmark
  public long handOffAndBack() throws InterruptedException {
    lock.lock();
    try {
      long token = ++sent;
      changed.signalAll();
      while (answered != token) {
        changed.await();
      }
      return token;
    } finally {
      lock.unlock();
    }
  }

  private void handBack() {
    lock.lock();
    try {
      while (true) {
        while (answered == sent) {
          changed.await();
        }
        answered = sent;
        changed.signalAll();
      }
    } catch (InterruptedException e) {
      // The trial is over.
    } finally {
      lock.unlock();
    }
  }
}
