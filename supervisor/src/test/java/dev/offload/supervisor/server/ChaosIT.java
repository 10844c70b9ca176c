package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.supervisor.testing.NoLeftoverProcesses;
import dev.offload.supervisor.testing.RunningService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of short jobs while a random worker is killed every 200 ms: no job is lost, none is
 * reported twice, every one ends in a terminal state, and the pool is whole at the end.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ChaosIT {

  private static final int JOBS = 2_000;
  private static final int CLIENTS = 16;
  private static final int WORKERS = 2;

  @TempDir Path dir;

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void randomWorkerKills_loseNoJobAndReportNoneTwice() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(WORKERS), dir);
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      Map<String, Integer> terminalEvents = new ConcurrentHashMap<>();
      Map<String, Job> ends = new ConcurrentHashMap<>();
      AtomicInteger next = new AtomicInteger();
      List<Future<?>> runners = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        runners.add(clients.submit(() -> {
          for (int i = next.getAndIncrement(); i < JOBS; i = next.getAndIncrement()) {
            SubmitJobRequest request = SubmitJobRequest.newBuilder()
                .setHandler(i % 2 == 0 ? "echo" : "sleep")
                .setInputJson(i % 2 == 0 ? Integer.toString(i) : "{\"ms\": 2}")
                .build();
            List<JobEvent> events = new ArrayList<>();
            Job end = service.client().run(request, events::add);
            long terminal = events.stream().filter(e -> e.hasJob() && dev.offload.supervisor.job.Job.isTerminal(e.getJob().getState())).count();
            terminalEvents.merge(end.getId(), (int) terminal, Integer::sum);
            ends.put(end.getId(), end);
          }
          return null;
        }));
      }
      AtomicBoolean done = new AtomicBoolean();
      Random random = new Random(42);
      int kills = 0;
      while (!done.get()) {
        done.set(runners.stream().allMatch(Future::isDone));
        if (!done.get()) {
          List<Long> live = service.client().poolStatus().getWorkersList().stream()
              .map(WorkerStatus::getPid).filter(p -> p != 0).toList();
          if (!live.isEmpty()) {
            ProcessHandle.of(live.get(random.nextInt(live.size()))).ifPresent(ProcessHandle::destroyForcibly);
            kills++;
          }
          if (kills % 25 == 0) {
            System.out.printf("chaos: %d kills, %d of %d jobs ended%n", kills, ends.size(), JOBS);
          }
          TimeUnit.MILLISECONDS.sleep(200); // the chaos cadence the test is about, not a wait for an outcome
        }
      }
      for (Future<?> runner : runners) {
        runner.get(); // surfaces any client that saw an error instead of an end
      }
      assertEquals(JOBS, ends.size(), "every job ended and was reported");
      assertTrue(terminalEvents.values().stream().allMatch(n -> n == 1), "each job reported terminal exactly once");
      assertTrue(ends.values().stream().allMatch(j -> dev.offload.supervisor.job.Job.isTerminal(j.getState())));
      List<Job> held = service.client().list(null);
      assertEquals(JOBS, held.size(), "the service holds each job once");
      assertTrue(held.stream().allMatch(j -> dev.offload.supervisor.job.Job.isTerminal(j.getState())));
      assertTrue(kills > 0, "the chaos actually happened");
      System.out.printf("chaos: %d jobs, %d kills, %d lost to kills%n", JOBS, kills,
          ends.values().stream().filter(j -> j.getError().getCode().equals("WORKER_LOST")).count());
    }
  }
}
