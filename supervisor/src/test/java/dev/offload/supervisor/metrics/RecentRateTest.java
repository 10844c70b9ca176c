package dev.offload.supervisor.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RecentRateTest {

  private final AtomicLong nowMillis = new AtomicLong(1_000_000_000L);
  private final RecentRate rate = new RecentRate(nowMillis::get);

  @Test
  void youngRate_isOverTheTimeSinceItStarted() {
    for (int i = 0; i < 50; i++) {
      rate.record();
    }
    nowMillis.addAndGet(4_000); // five seconds, the first included

    assertEquals(10.0, rate.perSecond(), 1e-9);
  }

  @Test
  void oldEvents_leaveTheMinute() {
    for (int i = 0; i < 120; i++) {
      rate.record();
    }
    nowMillis.addAndGet(61_000);
    rate.record();

    assertEquals(1 / 60.0, rate.perSecond(), 1e-9);
  }

  @Test
  void steadyRate_overAFullMinute() {
    for (int second = 0; second < 90; second++) {
      for (int i = 0; i < 3; i++) {
        rate.record();
      }
      nowMillis.addAndGet(1_000);
    }

    assertEquals(3.0, rate.perSecond(), 0.051); // the second now under way has no events yet
  }
}
