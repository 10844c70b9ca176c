package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers are retired after their share of jobs and replaced without the pool losing capacity:
 * the old worker serves on until its replacement is ready, then ends.
 */
@ExtendWith(NoLeftoverProcesses.class)
class RecyclingIT {

  private static final int MAX_JOBS = 3;

  @TempDir Path dir;

  @Test
  void maxJobsPerWorker_replacesTheWorkerAndEveryJobSucceeds() throws Exception {
    var config = RunningService.config(1).withPool(RunningService.pool(1).maxJobsPerWorker(MAX_JOBS).build());
    try (RunningService service = RunningService.start(config, dir)) {
      long previous = 0;
      for (int generation = 0; generation < 2; generation++) {
        long pid = workerPid(service);
        for (int i = 0; i < MAX_JOBS; i++) {
          Job end = service.client().wire().run(SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("1").build(), e -> {});
          assertEquals(JobState.SUCCEEDED, end.getState(), end.toString());
          assertEquals(pid, end.getWorkerPid(), "the same worker until it is retired");
        }
        Await.until("worker " + pid + " replaced", Duration.ofSeconds(30), () -> workerPid(service) != pid);
        assertEquals(1, service.client().wire().poolStatus().getWorkersCount(), "one slot, always filled");
        Await.until("retired worker " + pid + " ended", Duration.ofSeconds(10),
            () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        assertTrue(pid != previous);
        previous = pid;
      }
      WorkerStatus slot = service.client().wire().poolStatus().getWorkers(0);
      assertEquals(2, slot.getRestarts());
      assertTrue(slot.getLastRestartReason().contains("--max-jobs-per-worker"), slot.getLastRestartReason());
    }
  }

  private static long workerPid(RunningService service) {
    return service.client().wire().poolStatus().getWorkers(0).getPid();
  }
}
