package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerState;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job's deadline (deadline_ms) against its timeout (timeout_ms), with one real worker: the
 * deadline counts from acceptance, queue time and every attempt included, and ends the job
 * TIMED_OUT with code DEADLINE_EXCEEDED wherever it is; the timeout counts run time only.
 */
@ExtendWith(NoLeftoverProcesses.class)
class DeadlineIT {

  private static final Duration END_WITHIN = Duration.ofSeconds(30);

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    // Retries beyond the default --max-retries: the deadline, not the retries, must end the crashing job.
    service = RunningService.start(RunningService.config(1).withLimits(Limits.defaults().withMaxRetries(1_000)), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  @BeforeEach
  void wholePool() throws InterruptedException {
    Await.until("an idle worker", END_WITHIN, () -> {
      GetPoolStatusResponse status = service.client().wire().poolStatus();
      return status.getWorkersCount() == 1 && status.getWorkers(0).getState() == WorkerState.IDLE
          && ProcessHandle.of(status.getWorkers(0).getPid()).isPresent();
    });
  }

  private static SubmitJobRequest.Builder job(String handler, String input) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(input);
  }

  @Test
  void deadline_passingWhileQueued_endsTheJobTimedOutAtOnce() throws Exception {
    Job blocker = submitAndAwaitRunning(job("sleep", "{\"ms\": 60000}"));

    Job queued = service.client().wire().submit(job("echo", "1").setDeadlineMs(300).build());
    Job end = awaitEnd(queued);

    assertEquals(JobState.TIMED_OUT, end.getState());
    assertEquals("DEADLINE_EXCEEDED", end.getError().getCode());
    assertTrue(end.getError().getMessage().contains("while it was queued") && end.getError().getMessage().contains("--deadline"),
        end.getError().getMessage());
    assertEquals(0, end.getAttempts(), "it never ran");
    assertEquals(300, end.getDeadlineMs());
    assertTrue(end.getQueuedMs() >= 300, "queued " + end.getQueuedMs() + " ms");
    assertEquals(JobState.RUNNING, service.client().wire().get(blocker.getId()).getState(), "the running job is not touched");
    service.client().wire().cancel(blocker.getId());
    awaitEnd(blocker);
  }

  @Test
  void deadline_passingWhileRunning_stopsTheJob_andKeepsACooperativeWorker() throws Exception {
    long pid = service.client().wire().poolStatus().getWorkers(0).getPid();

    Job end = awaitEnd(service.client().wire().submit(job("sleep", "{\"ms\": 60000}").setDeadlineMs(500).build()));

    assertEquals(JobState.TIMED_OUT, end.getState());
    assertEquals("DEADLINE_EXCEEDED", end.getError().getCode());
    assertTrue(end.getError().getMessage().contains("while it ran"), end.getError().getMessage());
    assertEquals(pid, service.client().wire().poolStatus().getWorkers(0).getPid(), "a cooperative stop keeps the worker");
  }

  @Test
  void deadline_jobIgnoringCancel_itsWorkerIsKilledAfterTheGrace() throws Exception {
    Job end = awaitEnd(service.client().wire().submit(job("spin", "{\"ms\": 60000, \"ignore_cancel\": true}").setDeadlineMs(1000).build()));

    assertEquals(JobState.TIMED_OUT, end.getState());
    assertEquals("DEADLINE_EXCEEDED", end.getError().getCode());
    assertTrue(end.getError().getMessage().contains("was killed and replaced"), end.getError().getMessage());
  }

  @Test
  void deadline_countsEveryAttempt_aJobThatKeepsLosingItsWorkerIsNotRetriedPastIt() throws Exception {
    Job end = awaitEnd(service.client().wire().submit(job("crash", "{\"mode\": \"exit\", \"code\": 3}")
        .setRetries(1_000).setDeadlineMs(2000).build()));

    assertEquals(JobState.TIMED_OUT, end.getState());
    assertEquals("DEADLINE_EXCEEDED", end.getError().getCode());
  }

  @Test
  void timeout_countsRunTimeOnly_aJobQueuedLongerThanItsTimeoutStillRuns() throws Exception {
    Job blocker = submitAndAwaitRunning(job("sleep", "{\"ms\": 60000}"));
    Job queued = service.client().wire().submit(job("echo", "1").setTimeoutMs(1000).build());
    Await.until("the job queued past its timeout", END_WITHIN, () -> service.client().wire().get(queued.getId()).getQueuedMs() > 1500);

    service.client().wire().cancel(blocker.getId());
    Job end = awaitEnd(queued);

    assertEquals(JobState.SUCCEEDED, end.getState(), end.getError().getMessage());
    assertEquals(0, end.getDeadlineMs());
  }

  @Test
  void deadline_negative_isInvalid() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> service.client().wire().submit(job("echo", "1").setDeadlineMs(-1).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("deadline_ms"), e.getStatus().getDescription());
  }

  private static Job submitAndAwaitRunning(SubmitJobRequest.Builder request) throws InterruptedException {
    Job job = service.client().wire().submit(request.build());
    Await.until(job.getId() + " running", END_WITHIN, () -> service.client().wire().get(job.getId()).getState() == JobState.RUNNING);
    return job;
  }

  private static Job awaitEnd(Job job) throws InterruptedException {
    Await.until(job.getId() + " ended", END_WITHIN,
        () -> dev.offload.supervisor.job.Job.isTerminal(service.client().wire().get(job.getId()).getState()));
    return service.client().wire().get(job.getId());
  }
}
