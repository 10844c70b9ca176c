package dev.offload.supervisor.job;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The input that jobs accepted and not yet ended (queued or running) hold, in bytes of heap as
 * {@link HeapBytes} counts them, against a budget ({@code serve --pending-memory}). With the queue's count and the bound on what finished
 * jobs keep ({@link JobStore}), it keeps a service in bounded memory however large the inputs it
 * is sent: counted by jobs alone, 10,000 queued inputs of 4 MiB would want 40 GiB.
 *
 * <p>An input is taken when it fits in what is left, or when no input is held at all, so that one
 * job of any size the service takes can always run. A submission that does not fit is refused; a
 * batch stream instead waits for room ({@link #whenFits}) and reads no more of its lines meanwhile.
 * Thread-safe.
 */
public final class PendingInputs {

  private final long budget;
  private final AtomicLong held = new AtomicLong();
  /** Whether {@link #waiting} may hold anything: read on every release, so a volatile flag, not the lock. */
  private volatile boolean anyWaiting;
  /** Waits for room, each with the bytes it needs; guarded by this. */
  private final Deque<Wait> waiting = new ArrayDeque<>();
  /** Once set, every input is taken and every wait let through: see {@link #stopWaiting}. */
  private volatile boolean stopped;

  private record Wait(long bytes, Runnable then) {}

  /**
   * @param budget the most bytes of input held at once, at least 1
   */
  public PendingInputs(long budget) {
    if (budget < 1) {
      throw new IllegalArgumentException("the pending-input budget must be at least 1 byte, got " + budget);
    }
    this.budget = budget;
  }

  /** How much of the budget an input takes: see {@link HeapBytes}. */
  public static long bytesOf(String inputJson) {
    return HeapBytes.ofText(inputJson);
  }

  public long budget() {
    return budget;
  }

  /** The bytes held now. */
  public long held() {
    return held.get();
  }

  /** Whether an input of {@code bytes} would be taken now. */
  public boolean fits(long bytes) {
    long now = held.get();
    return now == 0 || now + bytes <= budget;
  }

  /** Holds {@code bytes} if they fit (see {@link #fits}), or once waits have stopped; returns whether it did. */
  public boolean tryHold(long bytes) {
    while (true) {
      long now = held.get();
      if (now != 0 && now + bytes > budget && !stopped) {
        return false;
      }
      if (held.compareAndSet(now, now + bytes)) {
        return true;
      }
    }
  }

  /** Gives back bytes held; runs, on the calling thread, the waits that now fit. */
  public void release(long bytes) {
    if (bytes == 0) {
      return;
    }
    held.addAndGet(-bytes);
    if (anyWaiting) {
      runFitting();
    }
  }

  /**
   * Runs {@code then} once an input of {@code bytes} fits: at once, on this thread, if it does
   * now; else on the thread whose {@link #release} makes room, which may hold locks, so {@code then}
   * must only hand its work on. It holds nothing: it tries again with {@link #tryHold}, and, when
   * another submission took the room first, waits again.
   */
  public void whenFits(long bytes, Runnable then) {
    synchronized (this) {
      waiting.addLast(new Wait(bytes, then));
      anyWaiting = true;
    }
    runFitting(); // the room may have come between the caller's check and this wait
  }

  /**
   * Takes every input and lets every wait through, now and from now on, for the dispatcher to
   * refuse: called once intake has closed, so that no batch stream waits for room that the jobs a
   * stopping service keeps for its next start will never give back.
   */
  public void stopWaiting() {
    stopped = true;
    runFitting();
  }

  private void runFitting() {
    List<Runnable> ready = new ArrayList<>();
    synchronized (this) {
      // First come, first through (a large input is not passed over for ever by small ones), each
      // counted as if held, so that one release lets through no more than it made room for.
      long now = held.get();
      while (!waiting.isEmpty() && (stopped || now == 0 || now + waiting.peekFirst().bytes() <= budget)) {
        Wait wait = waiting.removeFirst();
        ready.add(wait.then());
        now += wait.bytes();
      }
      anyWaiting = !waiting.isEmpty();
    }
    ready.forEach(Runnable::run);
  }
}
