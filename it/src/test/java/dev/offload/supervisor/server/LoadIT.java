package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.client.OffloadClient;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many clients at once, each with its own connection, submitting and waiting, while other clients
 * watch the same jobs: every job is accounted for, each waiter and watcher hears its job's end
 * exactly once, and the service's own count agrees.
 */
@ExtendWith(NoLeftoverProcesses.class)
class LoadIT {

  private static final int CLIENTS = 16;
  private static final int JOBS_PER_CLIENT = 60;
  private static final int WATCHERS = 8;

  @TempDir Path dir;

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES) // a hang guard; about 10 s on an idle 2-core machine
  void manyClientsAndWatchers_everyJobAccountedFor() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(2), dir);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      Map<String, JobState> ends = new ConcurrentHashMap<>();
      Map<String, AtomicInteger> watchedEnds = new ConcurrentHashMap<>();
      List<Future<?>> work = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        work.add(threads.submit(() -> {
          try (OffloadClient own = OffloadClient.connect(service.client().target().orElseThrow())) {
            for (int i = 0; i < JOBS_PER_CLIENT; i++) {
              String handler = i % 3 == 0 ? "sleep" : "echo";
              String input = handler.equals("sleep") ? "{\"ms\": 2}" : Integer.toString(client * 1000 + i);
              Job job = own.wire().submit(SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(input).build());
              if (i % 10 == 0) {
                watchedEnds.put(job.getId(), new AtomicInteger());
                for (int w = 0; w < WATCHERS / 4; w++) {
                  threads.submit(() -> watch(service, job.getId(), watchedEnds.get(job.getId())));
                }
              }
              Job end = own.wire().watch(job.getId(), e -> {});
              JobState previous = ends.put(end.getId(), end.getState());
              assertEquals(null, previous, end.getId() + " ended twice for its own client");
            }
          }
          return null;
        }));
      }
      for (Future<?> f : work) {
        f.get();
      }

      assertEquals(CLIENTS * JOBS_PER_CLIENT, ends.size(), "every job its client waited for ended");
      assertTrue(ends.values().stream().allMatch(s -> s == JobState.SUCCEEDED), ends.toString());
      dev.offload.testing.Await.until("every watcher to hear its job's end", java.time.Duration.ofSeconds(30),
          () -> watchedEnds.values().stream().allMatch(n -> n.get() == WATCHERS / 4));
      assertEquals((long) CLIENTS * JOBS_PER_CLIENT,
          service.client().wire().poolStatus().getJobsByStateOrDefault(JobState.SUCCEEDED.name(), 0), "the service counts each job once");
    }
  }

  /** Follows a job to its end on a connection of its own; counts the terminal events it hears. */
  private static Void watch(RunningService service, String jobId, AtomicInteger terminalEvents) {
    try (OffloadClient own = OffloadClient.connect(service.client().target().orElseThrow())) {
      own.wire().watch(jobId, (JobEvent event) -> {
        if (event.hasJob() && dev.offload.supervisor.job.Job.isTerminal(event.getJob().getState())) {
          terminalEvents.incrementAndGet();
        }
      });
    }
    return null;
  }
}
