package dev.offload.supervisor.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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

  @Test
  @Timeout(60)
  void eventsRecordedAtOnceAsTheSecondsTurn_areAllCounted() throws InterruptedException {
    int threads = 4;
    int eventsEach = 200_000;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> recorders = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      recorders.add(Thread.ofPlatform().start(() -> {
        go.countDown();
        for (int i = 0; i < eventsEach; i++) {
          rate.record();
          if (i % 5_000 == 0) {
            nowMillis.addAndGet(100); // the slots turn over while the others count
          }
        }
      }));
    }
    go.await(10, TimeUnit.SECONDS);
    for (Thread recorder : recorders) {
      recorder.join();
    }
    long seconds = (nowMillis.get() - 1_000_000_000L) / 1000 + 1;
    assertEquals(threads * eventsEach / (double) seconds, rate.perSecond(), 1e-6,
        "every event of the " + seconds + " seconds (all within the minute) is counted once");
  }
}
