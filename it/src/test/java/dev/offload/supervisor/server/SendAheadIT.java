package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.testing.Signals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs sent to a worker ahead of their turn (short ones only): when they are, what a cancel does
 * to them, and that a worker's death costs them nothing. One worker, so "ahead" is unambiguous;
 * the spin handler plays both a short job (0 ms) and one that holds the worker (ms set high),
 * since the estimate that allows sending ahead is the handler's, made from its finished jobs.
 */
@ExtendWith(NoLeftoverProcesses.class)
class SendAheadIT {

  private static final Duration LIMIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  RunningService service;

  @BeforeEach
  void start() throws Exception {
    service = RunningService.start(RunningService.config(1), dir);
  }

  @AfterEach
  void stop() throws Exception {
    service.close();
  }

  @Test
  void firstJobsOfAHandler_areNotSentAhead() {
    Job holding = service.client().wire().submit(spin(60_000));
    Job next = service.client().wire().submit(spin(0));

    assertEquals(JobState.RUNNING, holding.getState());
    assertEquals(JobState.QUEUED, next.getState(), "nothing is known of spin's run time yet, so it must wait its turn");
    service.client().wire().cancel(holding.getId());
  }

  @Test
  void shortJobs_areSentAheadOfTheRunningOne_andAllSucceed() throws Exception {
    List<Job> jobs = holdTheWorkerWithShortJobsSentAhead(3);
    Job holding = jobs.getFirst();
    List<Job> ahead = jobs.subList(1, jobs.size());

    for (Job job : ahead) {
      assertEquals(holding.getWorkerPid(), job.getWorkerPid());
    }
    assertEquals(4, service.supervisor().dispatcher().runningCount());
    service.client().wire().cancel(holding.getId());
    for (Job job : ahead) {
      assertEquals(JobState.SUCCEEDED, awaitEnd(job.getId()).getState());
    }
  }

  @Test
  void cancelOfAJobSentAhead_endsItAtOnce_andLeavesTheWorkerAlone() throws Exception {
    List<Job> jobs = holdTheWorkerWithShortJobsSentAhead(1);
    Job holding = jobs.getFirst();
    Job ahead = jobs.get(1);

    service.client().wire().cancel(ahead.getId());

    Job cancelled = awaitEnd(ahead.getId());
    assertEquals(JobState.CANCELLED, cancelled.getState());
    assertEquals(JobState.RUNNING, service.client().wire().get(holding.getId()).getState(), "the running job must not be touched");
    assertEquals(holding.getWorkerPid(), service.supervisor().workerPids().getFirst(), "no worker may be killed for a job that had not started");
    service.client().wire().cancel(holding.getId());
  }

  @Test
  void workerDies_jobsSentAheadRunOnItsReplacement_withoutAnAttemptCounted() throws Exception {
    List<Job> jobs = holdTheWorkerWithShortJobsSentAhead(3);
    Job holding = jobs.getFirst();
    List<Job> ahead = jobs.subList(1, jobs.size());

    Signals.send("KILL", holding.getWorkerPid());

    assertEquals("WORKER_LOST", awaitEnd(holding.getId()).getError().getCode());
    for (Job job : ahead) {
      Job end = awaitEnd(job.getId());
      assertEquals(JobState.SUCCEEDED, end.getState(), end.toString());
      assertEquals(1, end.getAttempts(), "it never ran on the worker that died");
      assertNotEquals(holding.getWorkerPid(), end.getWorkerPid());
    }
  }

  /**
   * Occupies the worker with a long spin and sends {@code ahead} 0 ms spins after it, once the
   * dispatcher has seen enough 0 ms spins end to know them as short (how many depends on how cold
   * the worker's JIT is, so it is found out: teach, try, and teach more if they were held back).
   *
   * @return the long job, then the jobs sent ahead of their turn, all RUNNING
   */
  private List<Job> holdTheWorkerWithShortJobsSentAhead(int ahead) throws InterruptedException {
    List<Job> jobs = new ArrayList<>();
    Await.until(ahead + " short jobs sent ahead of a long one", LIMIT, () -> {
      for (Job job : jobs) {
        service.client().wire().cancel(job.getId());
      }
      jobs.clear();
      for (int i = 0; i < 50; i++) {
        service.client().wire().run(spin(0), e -> {});
      }
      jobs.add(service.client().wire().submit(spin(60_000)));
      for (int i = 0; i < ahead; i++) {
        jobs.add(service.client().wire().submit(spin(0)));
      }
      return jobs.stream().allMatch(j -> j.getState() == JobState.RUNNING);
    });
    return jobs;
  }

  private Job awaitEnd(String id) throws InterruptedException {
    List<Job> end = new ArrayList<>();
    Await.until(id + " to end", LIMIT, () -> {
      Job job = service.client().wire().get(id);
      if (dev.offload.supervisor.job.Job.isTerminal(job.getState())) {
        end.add(job);
        return true;
      }
      return false;
    });
    return end.getFirst();
  }

  private static SubmitJobRequest spin(long ms) {
    return SubmitJobRequest.newBuilder().setHandler("spin").setInputJson("{\"ms\": " + ms + "}").build();
  }
}
