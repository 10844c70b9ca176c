package dev.offload.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The price of waking a sleeping thread on this machine: a token handed to a parked thread and
 * back, each side parking until the other unparks it, so that a round trip is exactly two
 * wake-ups (no lock to contend for, no spinning). A job's round trip through the service is a
 * chain of such wake-ups across three processes (client, supervisor, worker), each woken by a
 * socket rather than an unpark; this measures the kind of cost, not that chain.
 */
@State(Scope.Benchmark)
@Threads(1) // one caller: the partner answers one token at a time
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WakeUpBenchmark {

  private volatile long sent;
  private volatile long answered;
  private volatile boolean over;
  private Thread caller;
  private Thread partner;

  @Setup(Level.Trial)
  public void startPartner() {
    partner = Thread.ofPlatform().name("wake-up-partner").daemon(true).start(this::handBack);
  }

  @TearDown(Level.Trial)
  public void stopPartner() throws InterruptedException {
    over = true;
    LockSupport.unpark(partner);
    partner.join(TimeUnit.SECONDS.toMillis(10));
  }

  /** Two wake-ups: the partner's, then this thread's. */
  @Benchmark
  public long handOffAndBack() {
    caller = Thread.currentThread();
    long token = sent + 1;
    sent = token;
    LockSupport.unpark(partner);
    while (answered != token) {
      LockSupport.park(this);
    }
    return token;
  }

  private void handBack() {
    long last = 0;
    while (!over) {
      long token = sent;
      if (token == last) {
        LockSupport.park(this);
        continue;
      }
      last = token;
      answered = token;
      LockSupport.unpark(caller);
    }
  }
}
