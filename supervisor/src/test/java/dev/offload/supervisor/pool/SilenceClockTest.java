package dev.offload.supervisor.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The health checks' decision, on a clock the test moves: with the defaults (a tick every 2 s, 6 s
 * of silence allowed), a worker that stops answering is caught, and one that only looked silent
 * because the supervisor itself was paused is not.
 */
class SilenceClockTest {

  private static final Duration INTERVAL = Duration.ofSeconds(2);
  private static final Duration TIMEOUT = Duration.ofSeconds(6);

  /** A clock the test moves by hand, starting wherever it is told (nanoTime may start anywhere). */
  private static final class Clock {
    long nanos;

    Clock(long start) {
      nanos = start;
    }

    void advance(Duration d) {
      nanos += d.toNanos();
    }
  }

  private final Clock clock = new Clock(123_456_789L);
  private final SilenceClock silence = new SilenceClock(INTERVAL, TIMEOUT, () -> clock.nanos);

  private boolean overTimeout(long lastAnswer) {
    return silence.silenceSince(lastAnswer).compareTo(TIMEOUT) > 0;
  }

  @Test
  void healthyWorker_answeringEveryPing_isNeverOverTheTimeout() {
    long answer = silence.now();
    for (int i = 0; i < 50; i++) {
      clock.advance(INTERVAL);
      assertEquals(Duration.ZERO, silence.tick());
      assertTrue(!overTimeout(answer), "tick " + i);
      clock.advance(Duration.ofMillis(3)); // the pong
      answer = silence.now();
    }
  }

  @Test
  void stoppedWorker_isOverTheTimeoutWithinATickAfterIt() {
    long lastAnswer = silence.now();
    int ticks = 0;
    do {
      clock.advance(INTERVAL);
      silence.tick();
      ticks++;
    } while (!overTimeout(lastAnswer));
    // Silent for more than 6 s, seen at the first tick after: 8 s here, then killed.
    assertEquals(4, ticks);
  }

  @Test
  void pausedSupervisor_healthyWorkerGetsAFreshDeadline() {
    clock.advance(INTERVAL);
    silence.tick();
    clock.advance(Duration.ofMillis(2));
    long answerBeforePause = silence.now();

    clock.advance(Duration.ofSeconds(12)); // kill -STOP of the supervisor, then -CONT
    Duration paused = silence.tick();

    assertTrue(paused.compareTo(Duration.ofSeconds(12)) >= 0, paused.toString());
    assertEquals(Duration.ZERO, silence.silenceSince(answerBeforePause), "silence counts from the resumption");
    // It answers the ping of this tick and lives on.
    clock.advance(Duration.ofMillis(2));
    long answer = silence.now();
    clock.advance(INTERVAL);
    assertEquals(Duration.ZERO, silence.tick());
    assertTrue(!overTimeout(answer));
  }

  @Test
  void workerStoppedDuringThePause_isStillCaughtAfterIt() {
    long lastAnswer = silence.now();
    clock.advance(Duration.ofSeconds(30));
    silence.tick(); // the pause: a fresh deadline
    int ticks = 0;
    do {
      clock.advance(INTERVAL);
      silence.tick();
      ticks++;
    } while (!overTimeout(lastAnswer));
    assertEquals(4, ticks, "caught as after any other start of its silence");
  }

  @Test
  void lateTickShorterThanHalfwayToTheTimeout_isNoPause_andHarmsNoHealthyWorker() {
    clock.advance(INTERVAL);
    silence.tick();
    clock.advance(Duration.ofMillis(2));
    long answer = silence.now();

    clock.advance(Duration.ofMillis(3_900)); // a busy scheduler: 4 s is the line
    assertEquals(Duration.ZERO, silence.tick());
    assertTrue(!overTimeout(answer));
  }

  @Test
  void clockReadingsThatWrapAround_stillCompareRight() {
    Clock wrapping = new Clock(Long.MAX_VALUE - Duration.ofSeconds(3).toNanos());
    SilenceClock nearTheEnd = new SilenceClock(INTERVAL, TIMEOUT, () -> wrapping.nanos);
    long lastAnswer = nearTheEnd.now();
    wrapping.advance(Duration.ofSeconds(20)); // past Long.MAX_VALUE: the reading is negative now
    nearTheEnd.tick();
    assertEquals(Duration.ZERO, nearTheEnd.silenceSince(lastAnswer));
    wrapping.advance(Duration.ofSeconds(7));
    assertEquals(Duration.ofSeconds(7), nearTheEnd.silenceSince(lastAnswer));
  }
}
