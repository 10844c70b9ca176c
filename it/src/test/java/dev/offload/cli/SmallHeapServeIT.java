package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.client.OffloadClient;
import dev.offload.client.ServerTarget;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.sdk.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service with a small heap, sent far more than its heap in ordinary requests, each within the
 * limits: it stays up and answers, because finished jobs hold at most {@code --finished-memory}
 * of data (by default a quarter of the heap) and the oldest ones' data are dropped.
 */
@ExtendWith(NoLeftoverProcesses.class)
class SmallHeapServeIT {

  private static final int HEAP_MIB = 48;
  /** Under the default --max-input-size (4m): an ordinary request. */
  private static final int INPUT_BYTES = 1 << 20;
  /** Each holds its input and, as echo's output, as much again: 240 MiB through a 48 MiB heap. */
  private static final int JOBS = 120;

  @TempDir Path dir;

  @Test
  void echoJobsTotallingFiveTimesTheHeap_serviceStaysUp_oldestDataDropped() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of("-Xmx" + HEAP_MIB + "m"),
            "--workers", "1", "--state-dir", dir.resolve("state").toString(), "--metrics", ServeProcess.freeLoopbackAddress());
        OffloadClient client = OffloadClient.connect(ServerTarget.parse(serve.target()))) {
      String input = "\"" + "x".repeat(INPUT_BYTES - 2) + "\"";
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < JOBS; i++) {
        SubmitJobRequest request = SubmitJobRequest.newBuilder().setHandler("echo").setInputJson(input).build();
        // Bounded: a supervisor out of memory may never answer.
        Job end = CompletableFuture.supplyAsync(() -> client.wire().run(request, event -> {})).get(60, TimeUnit.SECONDS);
        assertEquals(JobState.SUCCEEDED, end.getState(), "job " + i + ": " + end.getError());
        assertEquals(INPUT_BYTES, end.getOutputJson().length(), "job " + i);
        ids.add(end.getId());
      }

      assertTrue(serve.process().isAlive(), "serve is up; its stderr: " + serve.stderr());
      assertEquals(0, Cli.run("stats", "--server", serve.target()).exitCode());
      assertEquals(0, Cli.run("list", "--server", serve.target()).exitCode());
      String metrics = serve.scrapeMetrics();
      double held = ServeProcess.sample(metrics, "offload_finished_job_data_bytes");
      double limit = ServeProcess.sample(metrics, "offload_finished_job_data_limit_bytes");
      assertTrue(limit <= HEAP_MIB / 4.0 * (1 << 20) && limit >= 2.0 * INPUT_BYTES, "the default is a quarter of the heap: " + limit);
      assertTrue(held <= limit, held + " bytes held, more than " + limit);

      String oldest = ids.getFirst();
      Cli.Result result = Cli.run("result", oldest, "--server", serve.target());
      assertEquals(2, result.exitCode(), result.err());
      assertTrue(result.err().contains("--finished-memory"), result.err());
      JsonNode record = Json.parse(Cli.run("status", oldest, "--json", "--server", serve.target()).out());
      assertEquals("SUCCEEDED", record.get("state").asText(), "its record stays");
      assertTrue(record.get("data_dropped").asBoolean(), record.toString());
      assertTrue(record.get("input").isNull() && record.get("output").isNull(), record.toString());
      assertTrue(Cli.run("status", oldest, "--server", serve.target()).out().contains("--finished-memory"));

      Cli.Result newest = Cli.run("result", ids.getLast(), "--server", serve.target());
      assertEquals(0, newest.exitCode(), newest.err());
      assertEquals(input, newest.out().strip());
      assertEquals("1", Cli.run("run", "echo", "1", "--server", serve.target()).out().strip());
    }
  }
}
