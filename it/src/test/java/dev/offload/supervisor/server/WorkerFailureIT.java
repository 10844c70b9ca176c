package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerState;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.testing.Signals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that dies, whatever the way, costs only its own job: the job ends FAILED with
 * WORKER_LOST and a cause in words, the waiter is told, and the pool is whole again.
 */
@ExtendWith(NoLeftoverProcesses.class)
class WorkerFailureIT {

  private static final int WORKERS = 2;

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(
        RunningService.config(WORKERS).withPool(RunningService.pool(WORKERS).workerHeap("64m").build()), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  @BeforeEach
  void wholePool() throws InterruptedException {
    Await.until("a whole, idle pool", Duration.ofSeconds(30), () -> service.client().wire().poolStatus().getWorkersList().stream()
        .filter(w -> w.getState() == WorkerState.IDLE).count() == WORKERS);
  }

  private static SubmitJobRequest job(String handler, String input) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(input).build();
  }

  /** Runs a job on a thread of its own, so the test can act on its worker meanwhile. */
  private static CompletableFuture<Job> runAsync(SubmitJobRequest request) {
    return CompletableFuture.supplyAsync(() -> service.client().wire().run(request, e -> {}));
  }

  private static long awaitRunningPid(String handler) throws InterruptedException {
    List<Long> pid = new ArrayList<>();
    Await.until("a running " + handler + " job", Duration.ofSeconds(10), () -> {
      for (Job j : service.client().wire().list(JobState.RUNNING)) {
        if (j.getHandler().equals(handler)) {
          pid.add(j.getWorkerPid());
          return true;
        }
      }
      return false;
    });
    return pid.getFirst();
  }

  private static void assertLostAndHealed(Job end, String causeFragment) throws InterruptedException {
    assertEquals(JobState.FAILED, end.getState());
    assertEquals("WORKER_LOST", end.getError().getCode());
    assertTrue(end.getError().getMessage().contains(causeFragment), end.getError().getMessage());
    wholePoolNow();
    assertEquals(JobState.SUCCEEDED, service.client().wire().run(job("echo", "1"), e -> {}).getState());
  }

  private static void wholePoolNow() throws InterruptedException {
    Await.until("the pool whole again", Duration.ofSeconds(30), () -> service.client().wire().poolStatus().getWorkersList().stream()
        .filter(w -> w.getState() == WorkerState.IDLE || w.getState() == WorkerState.BUSY).count() == WORKERS);
  }

  @Test
  void sigkillOfABusyWorker_failsItsJobWithTheSignal() throws Exception {
    CompletableFuture<Job> job = runAsync(job("sleep", "{\"ms\": 60000}"));
    long pid = awaitRunningPid("sleep");
    Signals.send("KILL", pid);
    assertLostAndHealed(job.get(), "killed by signal 9 (SIGKILL)");
  }

  @Test
  void haltOfAWorker_failsItsJobWithTheExitStatus() throws Exception {
    assertLostAndHealed(service.client().wire().run(job("crash", "{\"mode\": \"halt\", \"code\": 42}"), e -> {}), "exited with status 42");
  }

  @Test
  void outOfMemory_failsItsJobSayingSo() throws Exception {
    assertLostAndHealed(service.client().wire().run(job("crash", "{\"mode\": \"oom\"}"), e -> {}), "out of memory");
  }

  @Test
  void lostWorker_quotesOnlyWhatItsLastJobWrote() throws Exception {
    Job failed = service.client().wire().run(job("is_prime", "\"seven\""), e -> {}); // its stack trace goes to the worker's log
    assertEquals(JobState.FAILED, failed.getState());
    Job lost = service.client().wire().run(job("crash", "{\"mode\": \"oom\"}"), e -> {});
    assertEquals(failed.getWorkerPid(), lost.getWorkerPid(), "both jobs ran on the most recently idle worker");

    assertLostAndHealed(lost, "out of memory");
    String message = lost.getError().getMessage();
    assertTrue(message.contains("Terminating due to java.lang.OutOfMemoryError"), "the lost job's own last line: " + message);
    assertFalse(message.contains("JobRunner"), "the earlier job's stack trace: " + message);
  }

  @Test
  void sigstopOfABusyWorker_isDetectedByHealthChecks() throws Exception {
    CompletableFuture<Job> job = runAsync(job("sleep", "{\"ms\": 60000}"));
    long pid = awaitRunningPid("sleep");
    Signals.send("STOP", pid);
    assertLostAndHealed(job.get(), "answered no health check");
  }

  @Test
  void retries_requeueAJobWhoseWorkerWasLost() throws Exception {
    CompletableFuture<Job> job = runAsync(job("sleep", "{\"ms\": 1500}").toBuilder().setRetries(1).build());
    long pid = awaitRunningPid("sleep");
    Signals.send("KILL", pid);
    Job end = job.get();
    assertEquals(JobState.SUCCEEDED, end.getState(), end.toString());
    assertEquals(2, end.getAttempts());
    assertNotEquals(pid, end.getWorkerPid());
  }

  @Test
  void aJobThatKillsEveryWorker_endsPoisonAndIsNotRetriedAgain() throws Exception {
    Job end = service.client().wire().run(job("crash", "{\"mode\": \"exit\", \"code\": 3}").toBuilder().setRetries(2).build(), e -> {});
    assertEquals(JobState.FAILED, end.getState());
    assertEquals("POISON", end.getError().getCode());
    assertEquals(3, end.getAttempts());
    wholePoolNow();
  }

  @Test
  void stats_reportRestartsAndWhy() throws Exception {
    service.client().wire().run(job("crash", "{\"mode\": \"exit\", \"code\": 9}"), e -> {});
    wholePoolNow();
    List<WorkerStatus> workers = service.client().wire().poolStatus().getWorkersList();
    assertTrue(workers.stream().anyMatch(w -> w.getRestarts() > 0 && w.getLastRestartReason().contains("exited with status 9")),
        workers.toString());
  }
}
