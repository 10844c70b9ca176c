package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A first signal, the same one sent again at once (as timeout(1) does), and a second one later. */
class SignalsTest {

  private static final long WINDOW = Signals.SAME_REQUEST.toNanos();

  @Test
  void classify_firstThenRepeatsWithinTheWindowThenSecond() {
    Signals.Requests requests = new Signals.Requests();

    assertEquals(Signals.Kind.FIRST, requests.classify(1_000));
    assertEquals(Signals.Kind.REPEAT, requests.classify(1_000 + 50_000));
    assertEquals(Signals.Kind.REPEAT, requests.classify(1_000 + WINDOW - 1));
    assertEquals(Signals.Kind.SECOND, requests.classify(1_000 + WINDOW));
    assertEquals(Signals.Kind.SECOND, requests.classify(1_000 + 10 * WINDOW));
  }

  @Test
  void classify_negativeNanoTimes_work() {
    Signals.Requests requests = new Signals.Requests();

    assertEquals(Signals.Kind.FIRST, requests.classify(Long.MIN_VALUE + 5));
    assertEquals(Signals.Kind.REPEAT, requests.classify(Long.MIN_VALUE + 10));
  }
}
