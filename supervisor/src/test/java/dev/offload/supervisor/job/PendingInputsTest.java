package dev.offload.supervisor.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingInputsTest {

  @Test
  void inputsAreTakenWhileTheyFit_andAgainOnceReleased() {
    PendingInputs pending = new PendingInputs(100);

    assertTrue(pending.tryHold(60));
    assertTrue(pending.tryHold(40));
    assertFalse(pending.tryHold(1), "the budget is spent");
    assertFalse(pending.fits(1));
    assertEquals(100, pending.held());

    pending.release(40);
    assertTrue(pending.fits(40));
    assertFalse(pending.fits(41));
    assertTrue(pending.tryHold(30));
    assertEquals(90, pending.held());
  }

  @Test
  void anInputLargerThanTheBudget_isTakenWhenNothingElseIsHeld_only() {
    PendingInputs pending = new PendingInputs(100);

    assertTrue(pending.tryHold(500), "alone, any input runs");
    assertFalse(pending.tryHold(1), "and nothing beside it");
    pending.release(500);
    assertTrue(pending.tryHold(1));
    assertFalse(pending.tryHold(500));
  }

  @Test
  void waitsRunWhenTheirInputFits_firstComeFirst_andNoMoreThanTheRoomMade() {
    PendingInputs pending = new PendingInputs(100);
    List<String> ran = new ArrayList<>();
    assertTrue(pending.tryHold(100));

    pending.whenFits(50, () -> ran.add("a"));
    pending.whenFits(10, () -> ran.add("b"));
    pending.whenFits(60, () -> ran.add("c"));
    assertEquals(List.of(), ran, "no room yet");

    pending.release(40);
    assertEquals(List.of(), ran, "a comes first and does not fit; b is not let past it");
    pending.release(20);
    assertEquals(List.of("a", "b"), ran, "60 free: a's 50 and b's 10; c's 60 counted as not fitting after them");
    pending.release(40);
    assertEquals(List.of("a", "b", "c"), ran);
  }

  @Test
  void aWaitWhoseInputFitsAlready_runsAtOnce() {
    PendingInputs pending = new PendingInputs(100);
    List<String> ran = new ArrayList<>();

    pending.whenFits(1_000, () -> ran.add("alone"));

    assertEquals(List.of("alone"), ran, "nothing is held: it runs alone");
  }

  @Test
  void onceStopped_everyInputIsTaken_andEveryWaitLetThrough() {
    PendingInputs pending = new PendingInputs(100);
    List<String> ran = new ArrayList<>();
    assertTrue(pending.tryHold(100));
    pending.whenFits(10, () -> ran.add("waiting"));

    pending.stopWaiting();

    assertEquals(List.of("waiting"), ran);
    assertTrue(pending.tryHold(10), "for the dispatcher to refuse, as the service takes no more jobs");
    pending.whenFits(10, () -> ran.add("later"));
    assertEquals(List.of("waiting", "later"), ran);
  }

  @Test
  void aBudgetBelowOneByte_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PendingInputs(0));
    assertTrue(e.getMessage().contains("at least 1 byte"), e.getMessage());
  }
}
