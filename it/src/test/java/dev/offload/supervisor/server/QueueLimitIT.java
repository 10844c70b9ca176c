package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A full queue refuses at once, and the jobs it holds still run. */
@ExtendWith(NoLeftoverProcesses.class)
class QueueLimitIT {

  @TempDir Path dir;

  @Test
  void submit_fullQueue_isResourceExhausted() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1).withMaxQueue(2), dir)) {
      SubmitJobRequest sleep = SubmitJobRequest.newBuilder().setHandler("sleep").setInputJson("{\"ms\": 300}").build();
      Job running = service.client().wire().submit(sleep);
      Job queued1 = service.client().wire().submit(sleep);
      Job queued2 = service.client().wire().submit(sleep);
      StatusRuntimeException full = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(sleep));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());
      assertTrue(full.getStatus().getDescription().contains("--max-queue"), full.getStatus().getDescription());
      for (Job job : new Job[] {running, queued1, queued2}) {
        assertEquals(JobState.SUCCEEDED, service.client().wire().watch(job.getId(), e -> {}).getState());
      }
    }
  }
}
