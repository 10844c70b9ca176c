package dev.offload.supervisor.metrics;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * How many events happened in the last minute: one counter per second of a 60-second ring, each
 * started afresh when its second comes round again. Lock-free; an event costs one atomic update.
 *
 * <p>Each slot holds its second and its count in one word, so that starting a slot for a new
 * second and counting in it are one step: with two words, an event counted between another
 * thread's claim of the slot and its reset of the count was lost.
 */
final class RecentRate {

  private static final int SECONDS = 60;
  /** The low bits of a slot count its events (up to 16.7 million a second); the rest say which second. */
  private static final int COUNT_BITS = 24;
  private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;

  private final LongSupplier clockMillis;
  private final long startSecond;
  private final AtomicLongArray slots = new AtomicLongArray(SECONDS);

  RecentRate(LongSupplier clockMillis) {
    this.clockMillis = clockMillis;
    this.startSecond = clockMillis.getAsLong() / 1000;
  }

  void record() {
    long second = clockMillis.getAsLong() / 1000;
    slots.updateAndGet((int) (second % SECONDS), slot -> {
      long owner = secondOf(slot);
      if (owner == second) {
        return slot + 1;
      }
      // A newer second holds the slot only if this event waited a minute to be counted: too old.
      return owner < second ? (second << COUNT_BITS) + 1 : slot;
    });
  }

  /**
   * Events in the last 60 seconds (the current one included), per second; over the time since
   * it started, if that is shorter, so that a young service is not shown slower than it is.
   */
  double perSecond() {
    long now = clockMillis.getAsLong() / 1000;
    long total = 0;
    for (int i = 0; i < SECONDS; i++) {
      long slot = slots.get(i);
      if (now - secondOf(slot) < SECONDS) {
        total += slot & COUNT_MASK;
      }
    }
    return total / (double) Math.min(SECONDS, now - startSecond + 1);
  }

  private static long secondOf(long slot) {
    return slot >>> COUNT_BITS;
  }
}
