package dev.offload.supervisor.pool;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How long workers have been silent, counted so that a pause of the supervisor itself is not
 * blamed on them. When the whole supervisor stops running (SIGSTOP, a laptop's suspend, a frozen
 * VM, a long GC pause), its health checks stop too, and on waking every worker looks as if it had
 * not answered for the length of the pause. The health checker tells the two apart by its own
 * rhythm: it ticks every interval, so a gap between two of its ticks much longer than that means
 * the supervisor was not running, and every worker gets a fresh deadline from then on. A worker
 * that is itself stopped still stays silent after that, and is caught within the timeout.
 *
 * <p>Times are {@link System#nanoTime} readings (monotonic: a change of the wall clock is no
 * pause), or whatever clock the tests give. Not thread-safe: one health checker ticks it and asks
 * it, on one thread.
 */
final class SilenceClock {

  private final LongSupplier nanoTime;
  private final long stallNanos;
  private long lastTickNanos;
  /** When the supervisor last resumed after a pause: no worker has been silent for longer than since. */
  private long resumedAtNanos;

  /**
   * @param interval how often the checker ticks
   * @param timeout how long a worker may stay silent; longer than {@code interval} (see {@link PoolConfig})
   * @param nanoTime the clock, {@code System::nanoTime} outside tests
   */
  SilenceClock(Duration interval, Duration timeout, LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    // A healthy worker has been silent about as long as the gap since the last tick, when it was
    // pinged; a gap of the timeout would already get it killed. Halfway between the interval and
    // the timeout, a late tick is surely a pause, and one shorter than that harms nobody.
    this.stallNanos = interval.toNanos() + (timeout.toNanos() - interval.toNanos()) / 2;
    this.lastTickNanos = nanoTime.getAsLong();
    this.resumedAtNanos = lastTickNanos;
  }

  /**
   * Marks a round of health checks, before the workers are looked at.
   *
   * @return the length of the pause the supervisor has just woken from, or zero if the gap since
   *     the last tick was ordinary
   */
  Duration tick() {
    long now = nanoTime.getAsLong();
    long gap = now - lastTickNanos;
    lastTickNanos = now;
    if (gap > stallNanos) {
      resumedAtNanos = now;
      return Duration.ofNanos(gap);
    }
    return Duration.ZERO;
  }

  /**
   * How long a worker has been silent: since it last answered (a {@link #now} reading), or since
   * the supervisor last resumed from a pause, whichever is later.
   */
  Duration silenceSince(long lastAnswerNanos) {
    // Compared by difference, as nanoTime readings may wrap around.
    long since = lastAnswerNanos - resumedAtNanos > 0 ? lastAnswerNanos : resumedAtNanos;
    return Duration.ofNanos(nanoTime.getAsLong() - since);
  }

  /** A reading of this clock, for the time of a worker's answer. */
  long now() {
    return nanoTime.getAsLong();
  }
}
