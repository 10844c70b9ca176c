package dev.offload.supervisor.metrics;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * How many events happened in the last minute: one counter per second of a 60-second ring, each
 * cleared when its second comes round again. Lock-free; an event costs two atomic operations.
 */
final class RecentRate {

  private static final int SECONDS = 60;

  private final LongSupplier clockMillis;
  private final long startSecond;
  private final AtomicLongArray counts = new AtomicLongArray(SECONDS);
  /** The second (since the epoch) each slot counts; a slot of an older second counts nothing. */
  private final AtomicLongArray slotSecond = new AtomicLongArray(SECONDS);

  RecentRate(LongSupplier clockMillis) {
    this.clockMillis = clockMillis;
    this.startSecond = clockMillis.getAsLong() / 1000;
  }

  void record() {
    long second = clockMillis.getAsLong() / 1000;
    int slot = (int) (second % SECONDS);
    long owner = slotSecond.get(slot);
    if (owner != second && slotSecond.compareAndSet(slot, owner, second)) {
      counts.set(slot, 0);
    }
    counts.incrementAndGet(slot);
  }

  /**
   * Events in the last 60 seconds (the current one included), per second; over the time since
   * it started, if that is shorter, so that a young service is not shown slower than it is.
   */
  double perSecond() {
    long now = clockMillis.getAsLong() / 1000;
    long total = 0;
    for (int slot = 0; slot < SECONDS; slot++) {
      if (now - slotSecond.get(slot) < SECONDS) {
        total += counts.get(slot);
      }
    }
    return total / (double) Math.min(SECONDS, now - startSecond + 1);
  }
}
