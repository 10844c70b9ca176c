package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.client.BatchCall;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of short jobs while a random worker is killed every 200 ms: no job is lost, none is
 * reported twice, every one ends in a terminal state, and every waiter is told. Jobs come both
 * over a batch stream and from clients each waiting on its own job.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ChaosIT {

  private static final int BATCH_JOBS = 1_600;
  private static final int WAITED_JOBS = 400;
  private static final int WAITING_CLIENTS = 4;
  private static final int WORKERS = 2;

  @TempDir Path dir;

  private static SubmitJobRequest job(int i) {
    return SubmitJobRequest.newBuilder()
        .setHandler(i % 2 == 0 ? "echo" : "sleep")
        .setInputJson(i % 2 == 0 ? Integer.toString(i) : "{\"ms\": 1}")
        .build();
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES) // a hang guard: about 2.5 min on an idle 2-core machine
  void randomWorkerKills_loseNoJobAndReportNoneTwice() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(WORKERS), dir);
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      // Jobs over one batch stream: exactly one result per key.
      AtomicIntegerArray batchResults = new AtomicIntegerArray(BATCH_JOBS);
      Map<String, BatchResult> batchEnds = new ConcurrentHashMap<>();
      AtomicReference<BatchCall> call = new AtomicReference<>();
      call.set(service.client().wire().batch(128, result -> {
        batchResults.incrementAndGet(Integer.parseInt(result.getKey()));
        batchEnds.put(result.getKey(), result);
        call.get().release();
      }));
      Future<?> batch = clients.submit(() -> {
        for (int i = 0; i < BATCH_JOBS; i++) {
          call.get().acquire();
          call.get().send(Integer.toString(i), job(i));
        }
        call.get().finish();
        call.get().await();
        return null;
      });
      // Jobs each waited on by its own client: exactly one terminal event each.
      Map<String, Integer> terminalEvents = new ConcurrentHashMap<>();
      AtomicInteger next = new AtomicInteger();
      List<Future<?>> waiters = new ArrayList<>();
      for (int c = 0; c < WAITING_CLIENTS; c++) {
        waiters.add(clients.submit(() -> {
          for (int i = next.getAndIncrement(); i < WAITED_JOBS; i = next.getAndIncrement()) {
            List<JobEvent> events = new ArrayList<>();
            Job end = service.client().wire().run(job(i), events::add);
            long terminal = events.stream().filter(e -> e.hasJob() && dev.offload.supervisor.job.Job.isTerminal(e.getJob().getState())).count();
            terminalEvents.merge(end.getId(), (int) terminal, Integer::sum);
          }
          return null;
        }));
      }

      Random random = new Random(42);
      int kills = 0;
      while (!batch.isDone() || !waiters.stream().allMatch(Future::isDone)) {
        // Only a worker of this service, a process of this JVM's: the status may still name a
        // worker that is gone, and on a busy machine its pid may already be another process's.
        Set<Long> ours = NoLeftoverProcesses.descendants().stream().map(ProcessHandle::pid).collect(Collectors.toSet());
        List<Long> live = service.client().wire().poolStatus().getWorkersList().stream()
            .map(WorkerStatus::getPid).filter(ours::contains).toList();
        if (!live.isEmpty()) {
          ProcessHandle.of(live.get(random.nextInt(live.size()))).ifPresent(ProcessHandle::destroyForcibly);
          kills++;
        }
        TimeUnit.MILLISECONDS.sleep(200); // the chaos cadence the test is about, not a wait for an outcome
      }
      batch.get();
      for (Future<?> waiter : waiters) {
        waiter.get();
      }

      for (int i = 0; i < BATCH_JOBS; i++) {
        assertEquals(1, batchResults.get(i), "batch job " + i + " reported exactly once");
        BatchResult result = batchEnds.get(Integer.toString(i));
        assertTrue(result.hasJob() && dev.offload.supervisor.job.Job.isTerminal(result.getJob().getState()), result.toString());
      }
      assertEquals(WAITED_JOBS, terminalEvents.size(), "every waited job ended and its waiter was told");
      assertTrue(terminalEvents.values().stream().allMatch(n -> n == 1), "each waited job reported terminal exactly once");
      List<Job> held = service.client().wire().list(null);
      assertEquals(BATCH_JOBS + WAITED_JOBS, held.size(), "the service holds each job once");
      assertTrue(held.stream().allMatch(j -> dev.offload.supervisor.job.Job.isTerminal(j.getState())));
      assertTrue(kills > 0, "the chaos actually happened");
      System.out.printf("chaos: %d jobs, %d kills, %d lost to kills%n", held.size(), kills,
          held.stream().filter(j -> j.getError().getCode().equals("WORKER_LOST")).count());
    }
  }
}
