package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerState;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The service end to end with two real worker JVMs, over a real Unix socket. */
@ExtendWith(NoLeftoverProcesses.class)
class OffloadServiceIT {

  private static final int WORKERS = 2;
  private static final Duration POOL_WHOLE = Duration.ofSeconds(30);

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(WORKERS), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  private static SubmitJobRequest job(String handler, String input) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(input).build();
  }

  private static Job run(String handler, String input) {
    return service.client().wire().run(job(handler, input), event -> {});
  }

  @Test
  void runJob_isPrime_succeedsWithExactNumbers() {
    Job job = run("is_prime", "9999999999999917");
    assertEquals(JobState.SUCCEEDED, job.getState());
    assertEquals("{\"n\":9999999999999917,\"prime\":true}", job.getOutputJson());
    assertTrue(job.getWorkerPid() > 0);
    assertEquals(1, job.getAttempts());
  }

  @Test
  void runJob_streamsQueuedOrRunningThenTerminal() {
    List<JobEvent> events = new ArrayList<>();
    Job end = service.client().wire().run(job("sleep", "{\"ms\": 50}"), events::add);
    assertEquals(JobState.SUCCEEDED, end.getState());
    assertTrue(events.size() >= 2, "expected the accepted record and the end, got " + events);
    assertTrue(Set.of(JobState.QUEUED, JobState.RUNNING).contains(events.getFirst().getJob().getState()));
    assertEquals(1, events.stream().filter(e -> e.hasJob() && e.getJob().getState() == JobState.SUCCEEDED).count());
  }

  @Test
  void pool_hasDistinctLiveWorkerJvmsThatAreOurChildren() throws Exception {
    awaitWholePool();
    List<Long> pids = service.client().wire().poolStatus().getWorkersList().stream().map(WorkerStatus::getPid).toList();
    assertEquals(WORKERS, Set.copyOf(pids).size(), "distinct pids: " + pids);
    for (long pid : pids) {
      ProcessHandle worker = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
      assertTrue(worker.isAlive());
      assertEquals(ProcessHandle.current().pid(), worker.parent().orElseThrow().pid(), "parent of " + pid);
      assertTrue(worker.info().command().orElse("").endsWith("java"), "a JVM: " + worker.info().command());
    }
  }

  @Test
  void twoCpuJobs_runAtTheSameTimeOnTwoWorkers() throws Exception {
    awaitWholePool();
    CompletableFuture<Job> first = CompletableFuture.supplyAsync(() -> run("spin", "{\"ms\": 700}"));
    CompletableFuture<Job> second = CompletableFuture.supplyAsync(() -> run("spin", "{\"ms\": 700}"));
    Job a = first.get();
    Job b = second.get();
    assertEquals(JobState.SUCCEEDED, a.getState());
    assertEquals(JobState.SUCCEEDED, b.getState());
    assertNotEquals(a.getWorkerPid(), b.getWorkerPid());
    long aStart = a.getSubmittedAtMs() + a.getQueuedMs();
    long bStart = b.getSubmittedAtMs() + b.getQueuedMs();
    assertTrue(aStart < bStart + b.getRunMs() && bStart < aStart + a.getRunMs(),
        "run intervals overlap: a=" + aStart + "+" + a.getRunMs() + " b=" + bStart + "+" + b.getRunMs());
  }

  @Test
  void handlerException_failsTheJobAndTheWorkerServesOn() throws Exception {
    awaitWholePool();
    Job failed = run("is_prime", "\"not a number\"");
    assertEquals(JobState.FAILED, failed.getState());
    assertEquals("HANDLER_ERROR", failed.getError().getCode());
    assertTrue(failed.getError().getMessage().contains("is_prime takes an integer"), failed.getError().getMessage());
    assertTrue(ProcessHandle.of(failed.getWorkerPid()).map(ProcessHandle::isAlive).orElse(false), "worker still alive");
    Set<Long> pids = pids();
    assertTrue(pids.contains(failed.getWorkerPid()), "the same worker is still in the pool: " + pids);
    assertEquals(JobState.SUCCEEDED, run("echo", "1").getState());
  }

  @Test
  void submit_unknownHandler_isInvalidArgumentListingKnownOnes() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(job("nope", "1")));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("unknown handler 'nope'"));
    assertTrue(e.getStatus().getDescription().contains("is_prime"));
  }

  @Test
  void submit_malformedJson_isInvalidArgument() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(job("echo", "{bad")));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("not valid JSON"));
  }

  @Test
  void cancel_queuedJob_endsCancelledAtOnce() throws Exception {
    awaitWholePool();
    List<Job> blockers = new ArrayList<>();
    for (int i = 0; i < WORKERS; i++) {
      blockers.add(service.client().wire().submit(job("sleep", "{\"ms\": 60000}")));
    }
    Job queued = service.client().wire().submit(job("echo", "1"));
    Job afterCancel = service.client().wire().cancel(queued.getId());
    assertEquals(JobState.CANCELLED, afterCancel.getState());
    assertEquals(0, afterCancel.getWorkerPid());
    blockers.forEach(b -> service.client().wire().cancel(b.getId()));
    for (Job b : blockers) {
      assertEquals(JobState.CANCELLED, service.client().wire().watch(b.getId(), e -> {}).getState());
    }
  }

  @Test
  void cancel_cooperativeRunningJob_endsCancelledAndKeepsTheWorker() throws Exception {
    awaitWholePool();
    Job running = submitAndAwaitRunning("spin", "{\"ms\": 60000}");
    service.client().wire().cancel(running.getId());
    Job end = service.client().wire().watch(running.getId(), e -> {});
    assertEquals(JobState.CANCELLED, end.getState());
    assertTrue(pids().contains(running.getWorkerPid()), "a cooperative cancel keeps the worker");
  }

  @Test
  void cancel_jobIgnoringCancel_killsAndReplacesItsWorker() throws Exception {
    awaitWholePool();
    Job running = submitAndAwaitRunning("spin", "{\"ms\": 60000, \"ignore_cancel\": true}");
    // RUNNING means sent to its worker; a cancel that reaches the worker before the handler starts
    // drops the job there, with nothing to kill. This test is about a handler that ignores it.
    awaitBurningCpu(running.getWorkerPid());
    service.client().wire().cancel(running.getId());
    Job end = service.client().wire().watch(running.getId(), e -> {});
    assertEquals(JobState.CANCELLED, end.getState());
    assertTrue(end.getError().getMessage().contains("was killed and replaced"), end.getError().getMessage());
    assertTrue(ProcessHandle.of(running.getWorkerPid()).map(p -> !p.isAlive()).orElse(true), "the killed worker is gone");
    awaitWholePool();
    assertTrue(!pids().contains(running.getWorkerPid()));
  }

  @Test
  void timeout_endsTimedOut() throws Exception {
    awaitWholePool();
    Job end = service.client().wire().run(job("sleep", "{\"ms\": 60000}").toBuilder().setTimeoutMs(200).build(), e -> {});
    assertEquals(JobState.TIMED_OUT, end.getState());
    assertEquals("TIMED_OUT", end.getError().getCode());
  }

  @Test
  void workerExit_failsOnlyItsJobWithWorkerLost_andThePoolHeals() throws Exception {
    awaitWholePool();
    Job end = run("crash", "{\"mode\": \"exit\", \"code\": 7}");
    assertEquals(JobState.FAILED, end.getState());
    assertEquals("WORKER_LOST", end.getError().getCode());
    assertTrue(end.getError().getMessage().contains("exited with status 7"), end.getError().getMessage());
    awaitWholePool();
    assertEquals(JobState.SUCCEEDED, run("echo", "2").getState());
  }

  @Test
  void getJob_unknownId_isNotFound() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().get("j-999999"));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
  }

  private static Job submitAndAwaitRunning(String handler, String input) throws InterruptedException {
    Job job = service.client().wire().submit(job(handler, input));
    Await.until(job.getId() + " running", Duration.ofSeconds(10),
        () -> service.client().wire().get(job.getId()).getState() == JobState.RUNNING);
    return service.client().wire().get(job.getId());
  }

  /** Waits until the worker has burnt another 200 ms of CPU: the spin handler is under way. */
  private static void awaitBurningCpu(long workerPid) throws InterruptedException {
    long before = cpuMs(workerPid);
    Await.until("worker " + workerPid + " spinning", Duration.ofSeconds(10), () -> cpuMs(workerPid) >= before + 200);
  }

  private static long cpuMs(long workerPid) {
    return service.client().wire().poolStatus().getWorkersList().stream()
        .filter(w -> w.getPid() == workerPid).mapToLong(WorkerStatus::getCpuMs).findFirst().orElseThrow();
  }

  private static Set<Long> pids() {
    return service.client().wire().poolStatus().getWorkersList().stream().map(WorkerStatus::getPid).collect(Collectors.toSet());
  }

  /** Waits until every slot has an idle worker: the pool is whole and quiet. */
  private static void awaitWholePool() throws InterruptedException {
    Await.until("a whole, idle pool", POOL_WHOLE, () -> {
      GetPoolStatusResponse status = service.client().wire().poolStatus();
      return status.getWorkersCount() == WORKERS
          && status.getWorkersList().stream().allMatch(w -> w.getState() == WorkerState.IDLE && ProcessHandle.of(w.getPid()).isPresent());
    });
  }
}
