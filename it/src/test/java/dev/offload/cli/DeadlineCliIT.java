package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.sdk.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code --deadline} on run and submit, and the {@code deadline} of a batch line. */
@ExtendWith(NoLeftoverProcesses.class)
class DeadlineCliIT {

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(1), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  private static Cli.Result offload(String... args) {
    return service.cli(args);
  }

  /** `run echo --timeout 5s` waited on while no worker was free: --timeout counts run time only; --deadline counts it all. */
  @Test
  void run_deadline_noWorkerFree_endsTimedOut_exit4() throws Exception {
    Job blocker = service.client().wire().submit(SubmitJobRequest.newBuilder().setHandler("sleep").setInputJson("{\"ms\": 60000}").build());
    Await.until("the only worker busy", Duration.ofSeconds(30), () -> service.client().wire().get(blocker.getId()).getState() == JobState.RUNNING);
    try {
      Cli.Result r = offload("run", "echo", "1", "--deadline", "500ms");

      assertEquals(4, r.exitCode(), r.err());
      assertTrue(r.err().contains("TIMED_OUT (DEADLINE_EXCEEDED)") && r.err().contains("while it was queued"), r.err());
    } finally {
      service.client().wire().cancel(blocker.getId());
    }
  }

  @Test
  void submitJson_showsTheDeadline() {
    Cli.Result r = offload("submit", "echo", "1", "--deadline", "1m", "--json");

    assertEquals(0, r.exitCode(), r.err());
    assertEquals(60_000, Json.parse(r.out()).get("deadline_ms").asLong());
  }

  @Test
  void batch_deadlineOfALine_endsItTimedOut_aMalformedOneIsInvalid() throws Exception {
    Path jobs = Files.write(dir.resolve("deadlines.jsonl"), List.of(
        "{\"id\": \"late\", \"handler\": \"sleep\", \"input\": {\"ms\": 60000}, \"deadline\": \"300ms\"}",
        "{\"id\": \"bad\", \"handler\": \"echo\", \"input\": 1, \"deadline\": \"soon\"}"));

    Cli.Result r = offload("batch", jobs.toString(), "--progress", "never");

    assertEquals(1, r.exitCode(), r.err());
    Map<String, JsonNode> byId = r.out().lines().map(Json::parse).collect(Collectors.toMap(l -> l.get("id").asText(), Function.identity()));
    assertEquals("TIMED_OUT", byId.get("late").get("state").asText());
    assertEquals("DEADLINE_EXCEEDED", byId.get("late").get("error").get("code").asText());
    assertEquals("INVALID", byId.get("bad").get("state").asText());
    assertTrue(byId.get("bad").get("error").get("message").asText().contains("\"deadline\""), byId.get("bad").toString());
  }
}
