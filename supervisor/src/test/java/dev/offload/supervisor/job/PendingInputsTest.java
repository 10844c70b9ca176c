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
    assertEquals(100, pending.held());

    pending.release(40);
    assertFalse(pending.tryHold(41));
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
  void waitsGoFirstComeFirstServed_eachWithItsRoomHeld() {
    PendingInputs pending = new PendingInputs(100);
    List<String> ran = new ArrayList<>();
    assertTrue(pending.tryHold(100));

    pending.whenFits(50, bytes -> ran.add("a" + bytes));
    pending.whenFits(10, bytes -> ran.add("b" + bytes));
    pending.whenFits(60, bytes -> ran.add("c" + bytes));
    assertEquals(List.of(), ran, "no room yet");
    assertFalse(pending.tryHold(1), "nothing goes past the waits");

    pending.release(40);
    assertEquals(List.of(), ran, "a comes first and does not fit; b is not let past it");
    pending.release(20);
    assertEquals(List.of("a50", "b10"), ran, "60 free: a's 50 and b's 10, held for them");
    assertEquals(100, pending.held());
    pending.release(40);
    assertEquals(List.of("a50", "b10"), ran, "c's 60 does not fit beside a and b");
    pending.release(50 + 10); // a and b gave theirs back (their jobs ended, or were refused)
    assertEquals(List.of("a50", "b10", "c60"), ran);
    assertEquals(60, pending.held());
    assertTrue(pending.tryHold(40), "no wait is left: room is taken again as it comes");
  }

  @Test
  void aWaitWhoseInputFitsAlready_runsAtOnce_holdingItsRoom() {
    PendingInputs pending = new PendingInputs(100);
    List<Long> ran = new ArrayList<>();

    pending.whenFits(1_000, ran::add);

    assertEquals(List.of(1_000L), ran, "nothing is held: it runs alone");
    assertEquals(1_000, pending.held());
  }

  @Test
  void aCancelledWait_leavesTheLine_andTheWaitsBehindItGo() {
    PendingInputs pending = new PendingInputs(100);
    List<String> ran = new ArrayList<>();
    assertTrue(pending.tryHold(60));
    PendingInputs.Wait big = pending.whenFits(80, bytes -> ran.add("big"));
    pending.whenFits(30, bytes -> ran.add("small"));
    assertEquals(List.of(), ran, "small fits, but waits behind big");

    assertTrue(big.cancel());

    assertEquals(List.of("small"), ran);
    assertFalse(big.cancel(), "out of the line already");
    assertEquals(0, pending.waiting());
  }

  @Test
  void onceStopped_everyInputIsTaken_andEveryWaitLetThrough() {
    PendingInputs pending = new PendingInputs(100);
    List<String> ran = new ArrayList<>();
    assertTrue(pending.tryHold(100));
    pending.whenFits(10, bytes -> ran.add("waiting"));

    pending.stopWaiting();

    assertEquals(List.of("waiting"), ran);
    assertTrue(pending.tryHold(10), "for the dispatcher to refuse, as the service takes no more jobs");
    pending.whenFits(10, bytes -> ran.add("later"));
    assertEquals(List.of("waiting", "later"), ran);
  }

  @Test
  void aBudgetBelowOneByte_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PendingInputs(0));
    assertTrue(e.getMessage().contains("at least 1 byte"), e.getMessage());
  }
}
