package dev.offload.supervisor.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
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
    for (int round = 0; round < 3; round++) {
      AtomicLong clock = new AtomicLong(1_000_000_000L);
      RecentRate shared = new RecentRate(clock::get);
      CountDownLatch ready = new CountDownLatch(threads);
      CountDownLatch go = new CountDownLatch(1);
      List<Thread> recorders = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        recorders.add(Thread.ofPlatform().start(() -> {
          ready.countDown();
          try {
            go.await();
          } catch (InterruptedException e) {
            return;
          }
          for (int i = 1; i <= eventsEach; i++) {
            shared.record();
            if (i % 5_000 == 0) {
              clock.addAndGet(350); // 160 steps in all: 56 seconds, each turn a new slot while others count
            }
          }
        }));
      }
      ready.await();
      go.countDown();
      for (Thread recorder : recorders) {
        recorder.join();
      }
      long seconds = (clock.get() - 1_000_000_000L) / 1000 + 1;
      assertEquals(threads * eventsEach / (double) seconds, shared.perSecond(), 1e-6,
          "every event of the " + seconds + " seconds (all within the minute) is counted once");
    }
  }
}
