package dev.offload.supervisor.job;

import static dev.offload.supervisor.job.Dispatcher.MAX_JOBS_AWAITING_START_PER_WORKER;
import static dev.offload.supervisor.job.Dispatcher.MAX_JOBS_PER_WORKER;
import static dev.offload.supervisor.job.Dispatcher.SEND_AHEAD_BUDGET_NANOS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When a worker may be sent one more job: {@link Dispatcher.Load}. */
class DispatcherLoadTest {

  private static final long SHORT = 1_000; // 1 µs: the cap binds long before the budget

  /** How many more jobs of this run time a worker with this load is sent (each added to it). */
  private static int filled(Dispatcher.Load load, long runNanos, boolean awaitingStart) {
    int sent = 0;
    while (load.roomForMore() && sent < 10_000) {
      load.add(runNanos, awaitingStart);
      sent++;
    }
    return sent;
  }

  @Test
  void aWorkerHoldingNothing_takesAJobOfAnyLength_evenOneNeverRunBefore() {
    assertTrue(new Dispatcher.Load().roomForMore());
    Dispatcher.Load load = new Dispatcher.Load();
    load.add(RunTimeEstimates.UNKNOWN, false);
    assertFalse(load.roomForMore(), "nothing goes behind a job whose run time is unknown");
  }

  @Test
  void shortJobs_goUpToTheCap_withoutAStore() {
    assertEquals(MAX_JOBS_PER_WORKER, filled(new Dispatcher.Load(), SHORT, false));
  }

  @Test
  void jobsWaitingForTheirStartToBeRecorded_countApartFromThoseTheWorkerHolds() {
    Dispatcher.Load load = new Dispatcher.Load();
    for (int i = 0; i < MAX_JOBS_PER_WORKER - 1; i++) {
      load.add(SHORT, false);
    }

    assertEquals(MAX_JOBS_AWAITING_START_PER_WORKER, filled(load, SHORT, true),
        "a worker with room for one more is assigned the jobs it will run once their starts commit, up to their own cap");
    assertTrue(MAX_JOBS_AWAITING_START_PER_WORKER > MAX_JOBS_PER_WORKER);
  }

  @Test
  void aWorkerHoldingItsMost_isAssignedNoMore_evenToWaitForTheirStart() {
    Dispatcher.Load load = new Dispatcher.Load();
    assertEquals(MAX_JOBS_PER_WORKER, filled(load, SHORT, false));

    assertEquals(0, filled(load, SHORT, true));
  }

  @Test
  void jobsWaitingForTheirStart_countTowardsTheBudget_sinceTheyRunBehindTheOthers() {
    long tenthOfBudget = SEND_AHEAD_BUDGET_NANOS / 10;
    Dispatcher.Load load = new Dispatcher.Load();
    load.add(tenthOfBudget * 6, false);

    assertEquals(5, filled(load, tenthOfBudget, true), "sent while what it holds ends within the budget: 0.6, 0.7 … 1.0");
  }

  @Test
  void longJobs_goOneAtATime() {
    assertEquals(1, filled(new Dispatcher.Load(), SEND_AHEAD_BUDGET_NANOS * 2, true));
  }

  @Test
  void runTimesPastWhatALongHolds_addUpToTheLongest_notToANegativeSum() {
    Dispatcher.Load load = new Dispatcher.Load();
    load.add(SHORT, false);
    load.add(Long.MAX_VALUE - 1, true);

    assertFalse(load.roomForMore());
  }
}
