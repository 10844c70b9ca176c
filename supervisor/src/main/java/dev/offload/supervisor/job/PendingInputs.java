package dev.offload.supervisor.job;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * The input that jobs accepted and not yet ended (queued or running) hold, in bytes of heap as
 * {@link HeapBytes} counts them, against a budget ({@code serve --pending-memory}). With the
 * queue's count and the bound on what finished jobs keep ({@link JobStore}), it keeps a service in
 * bounded memory however large the inputs it is sent: counted by jobs alone, 10,000 queued inputs
 * of 4 MiB would want 40 GiB.
 *
 * <p>An input is taken when it fits in what is left, or when no input is held at all, so that one
 * job of any size the service takes can always run. A submission that does not fit is refused; a
 * batch stream instead waits for room ({@link #whenFits}) and reads no more of its lines meanwhile.
 * Waits go first come, first served: while any waits, {@link #tryHold} takes nothing, and room is
 * given to the waits in the order they came, held for each until it hands it on.
 * Thread-safe.
 */
public final class PendingInputs {

  private final long budget;
  private final AtomicLong held = new AtomicLong();
  /** Whether {@link #waiting} may hold anything: read on every hold and release, so a volatile flag, not the lock. */
  private volatile boolean anyWaiting;
  /** Waits for room, each with the bytes it needs; guarded by this. */
  private final Deque<Wait> waiting = new ArrayDeque<>();
  /** Once set, every input is taken and every wait let through: see {@link #stopWaiting}. */
  private volatile boolean stopped;

  /** A wait for room; {@link #cancel} it when what it waits for is gone. */
  public final class Wait {
    private final long bytes;
    private final LongConsumer then;

    private Wait(long bytes, LongConsumer then) {
      this.bytes = bytes;
      this.then = then;
    }

    /**
     * Takes it out of the line, if it is still waiting (the waits behind it may then go); returns
     * whether it did: false if it was let through already, and its {@code then} told.
     */
    public boolean cancel() {
      boolean removed;
      synchronized (PendingInputs.this) {
        removed = waiting.remove(this);
        anyWaiting = !waiting.isEmpty();
      }
      if (removed) {
        runFitting();
      }
      return removed;
    }
  }

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

  /** How many waits are in line now. */
  public synchronized int waiting() {
    return waiting.size();
  }

  /**
   * Holds {@code bytes} if they fit and no wait is in line before them, or once waits have
   * stopped; returns whether it did. An input fits when it leaves the held bytes within the
   * budget, or when none are held.
   */
  public boolean tryHold(long bytes) {
    if (stopped) {
      held.addAndGet(bytes);
      return true;
    }
    if (anyWaiting) {
      return false;
    }
    while (true) {
      long now = held.get();
      if (now != 0 && now + bytes > budget) {
        return false;
      }
      if (held.compareAndSet(now, now + bytes)) {
        return true;
      }
    }
  }

  /** Holds {@code bytes} whatever the budget: for the inputs of jobs accepted already (an earlier service's). */
  public void holdAnyway(long bytes) {
    held.addAndGet(bytes);
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
   * Waits until an input of {@code bytes} fits, its turn come, then holds them for it and tells
   * {@code then} (with the bytes): at once, on this thread, if it fits now and none waits before it;
   * else on the thread whose {@link #release} makes room, which may hold locks, so {@code then} must
   * only hand its work on. Whoever {@code then} hands the bytes to gives them back with {@link
   * #release}, or hands them to a job, which does when it ends.
   */
  public Wait whenFits(long bytes, LongConsumer then) {
    Wait wait = new Wait(bytes, then);
    synchronized (this) {
      waiting.addLast(wait);
      anyWaiting = true;
    }
    runFitting(); // the room may have come between the caller's try and this wait
    return wait;
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
    List<Wait> ready = new ArrayList<>();
    synchronized (this) {
      while (!waiting.isEmpty()) {
        long now = held.get();
        long bytes = waiting.peekFirst().bytes;
        if (!stopped && now != 0 && now + bytes > budget) {
          break;
        }
        // Held here, under the lock, in the order the waits came: a tryHold meanwhile sees them waiting and takes nothing.
        held.addAndGet(bytes);
        ready.add(waiting.removeFirst());
      }
      anyWaiting = !waiting.isEmpty();
    }
    ready.forEach(wait -> wait.then.accept(wait.bytes));
  }
}
