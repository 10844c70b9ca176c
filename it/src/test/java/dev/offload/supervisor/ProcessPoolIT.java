package dev.offload.supervisor;

import dev.offload.client.JobFailedException;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.JobState;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The Java API: futures from a client and from an embedded pool; close leaves no process. */
@ExtendWith(NoLeftoverProcesses.class)
class ProcessPoolIT {

  @TempDir Path dir;

  @Test
  void readmeExample_checksTheSeedsPrimes() throws Exception {
    List<String> results = ProcessPoolExample.checkPrimes(List.of(9999999999999917L, 9999999999999999L, 2L));
    assertEquals(List.of(
        "{\"n\":9999999999999917,\"prime\":true}",
        "{\"n\":9999999999999999,\"prime\":false}",
        "{\"n\":2,\"prime\":true}"), results);
  }

  @Test
  void processPool_futuresFailCancelAndCloseLeavesNoProcess() throws Exception {
    try (ProcessPool pool = ProcessPool.start(RunningService.config(1))) {
      ExecutionException failed = assertThrows(ExecutionException.class, () -> pool.submit("is_prime", "\"x\"").get(30, TimeUnit.SECONDS));
      assertTrue(failed.getCause() instanceof JobFailedException, failed.toString());
      assertEquals("HANDLER_ERROR", ((JobFailedException) failed.getCause()).job().getError().getCode());

      ExecutionException refused = assertThrows(ExecutionException.class, () -> pool.submit("nope", "1").get(30, TimeUnit.SECONDS));
      assertTrue(refused.getCause() instanceof StatusRuntimeException, refused.toString());

      CompletableFuture<String> sleeping = pool.submit("sleep", "{\"ms\": 60000}");
      Await.until("the job running", Duration.ofSeconds(30), () -> !pool.client().list(JobState.RUNNING).isEmpty());
      String id = pool.client().list(JobState.RUNNING).getFirst().getId();
      assertTrue(sleeping.cancel(true));
      assertThrows(CancellationException.class, sleeping::join);
      assertEquals(JobState.CANCELLED, pool.watch(id, e -> {}).getState());
      assertEquals("{\"n\":7,\"prime\":true}", pool.run("is_prime", "7"));
    }
  }

  @Test
  void client_submitReturnsAFutureOfTheOutput() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      assertEquals("[1,2]", service.client().submit("echo", "[1,2]").get(30, TimeUnit.SECONDS));
    }
  }
}
