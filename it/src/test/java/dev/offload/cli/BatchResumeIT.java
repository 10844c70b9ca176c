package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.ServeProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code batch --resume} after its service was killed: the lines the service had accepted are
 * fetched by job id from the restarted service (a real serve process on a real SQLite file), not
 * run again.
 */
@ExtendWith(NoLeftoverProcesses.class)
class BatchResumeIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int FAST = 20;
  private static final int SLOW = 12;
  private static final int WINDOW = 8;

  @TempDir Path dir;

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void killDashNine_midBatch_resumeFetchesAcceptedLinesById_everyLineOneResult_noJobRunTwice() throws Exception {
    // Fast lines first, then slow ones: once the window is full of slow jobs (the first two, which
    // run for long, and 6 queued) no line is on its way and none ends, so the kill lands where
    // every accepted line has been acknowledged and none answered.
    Path input = dir.resolve("jobs.jsonl");
    StringBuilder jobs = new StringBuilder();
    for (int i = 0; i < FAST + SLOW; i++) {
      String handler = i < FAST ? "echo" : "sleep";
      int ms = i < FAST + 2 ? 5_000 : 200;
      String job = i < FAST ? "{\"line\": " + i + "}" : "{\"ms\": " + ms + ", \"line\": " + i + "}";
      jobs.append("{\"id\": \"L").append(i).append("\", \"handler\": \"").append(handler).append("\", \"input\": ").append(job).append("}\n");
    }
    Files.writeString(input, jobs);
    Path output = dir.resolve("results.jsonl");
    Path pendingFile = dir.resolve("results.jsonl.pending");
    Map<Long, PendingLog.Entry> pending;
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      Process batch = new ProcessBuilder(OffloadProcess.command(List.of(), "batch", input.toString(), "--output", output.toString(),
          "--max-in-flight", Integer.toString(WINDOW), "--progress", "never", "--server", serve.target()))
          .redirectError(dir.resolve("batch.err").toFile())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      try {
        Await.until("the window full of slow lines, all acknowledged", WAIT,
            () -> lineCount(output) == FAST && pendingCount(pendingFile) == WINDOW);
        serve.process().destroyForcibly(); // kill -9
        assertTrue(batch.waitFor(30, TimeUnit.SECONDS), "batch did not end after its service was killed");
        String err = Files.readString(dir.resolve("batch.err"));
        assertEquals(3, batch.exitValue(), err);
        assertTrue(err.contains("the job ids of " + WINDOW + " lines accepted and not answered are in " + pendingFile), err);
      } finally {
        batch.destroyForcibly();
      }
      assertEquals(FAST, lineCount(output), Files.readString(output));
      pending = PendingLog.read(pendingFile);
      assertEquals(WINDOW, pending.size(), "the journal is compacted to the pending lines: " + Files.readString(pendingFile));
      assertEquals(WINDOW + 1, Files.readAllLines(pendingFile).size(), "the batch's id and the pending lines: " + Files.readString(pendingFile));
    }

    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      Cli.Result resumed = Cli.run("batch", input.toString(), "--output", output.toString(), "--resume", "--max-in-flight",
          Integer.toString(WINDOW), "--progress", "never", "--server", serve.target());
      Map<String, JsonNode> results = new HashMap<>();
      for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
        JsonNode result = Json.parse(line);
        JsonNode earlier = results.put(result.get("id").asText(), result);
        assertEquals(null, earlier, "line " + result.get("id") + " has two results: " + earlier + " and " + result);
      }
      assertEquals(FAST + SLOW, results.size(), "every line has a result: " + results.keySet());

      Map<String, JsonNode> store = serve.jobs();
      assertEquals(FAST + SLOW, store.size(), "one job per line, none submitted twice: " + store.keySet());
      Map<Integer, JsonNode> byLine = new HashMap<>();
      for (JsonNode job : store.values()) {
        int line = job.get("input").get("line").asInt();
        assertFalse(byLine.containsKey(line), "line " + line + " has two jobs: " + byLine.get(line) + " and " + job);
        byLine.put(line, job);
        assertEquals(1, job.get("attempts").asInt(), "no job ran twice: " + job);
      }
      // The pending lines' results are those of the jobs the journal named: the two that were
      // running are lost with the service (no retries), and a line sent again would have succeeded.
      int lost = 0;
      for (PendingLog.Entry entry : pending.values()) {
        JsonNode job = store.get(entry.job());
        assertEquals(entry.line() - 1, job.get("input").get("line").asInt(), entry.toString());
        JsonNode result = results.get(entry.id());
        assertEquals(job.get("state").asText(), result.get("state").asText(), result.toString());
        if (result.get("state").asText().equals("FAILED")) {
          assertEquals("SERVICE_LOST", result.get("error").get("code").asText(), result.toString());
          lost++;
        }
      }
      assertEquals(2, lost, "the two running on the 2 workers at the kill: " + results.values());
      assertEquals(1, resumed.exitCode(), resumed.err());
      assertTrue(resumed.err().contains("batch done: " + (SLOW - 2) + " succeeded, 2 did not"), resumed.err());
      assertFalse(Files.exists(pendingFile), "nothing is pending once every line is answered");
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void resume_aPendingJobTheServiceDoesNotKnow_isReportedLost_andNotRunAgain() throws Exception {
    Path input = dir.resolve("jobs.jsonl");
    Files.writeString(input, "{\"id\": \"a\", \"handler\": \"echo\", \"input\": 1}\n{\"id\": \"b\", \"handler\": \"echo\", \"input\": 2}\n");
    Path output = dir.resolve("results.jsonl");
    Files.writeString(output, "");
    Files.writeString(dir.resolve("results.jsonl.pending"), "{\"line\":1,\"id\":\"a\",\"job\":\"j-999\"}\n");
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      Cli.Result r = Cli.run("batch", input.toString(), "--output", output.toString(), "--resume", "--progress", "never",
          "--server", serve.target());
      assertEquals(1, r.exitCode(), r.err());
      List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
      assertEquals(2, lines.size(), lines.toString());
      JsonNode a = lines.stream().map(Json::parse).filter(n -> n.get("id").asText().equals("a")).findFirst().orElseThrow();
      assertEquals("LOST", a.get("state").asText(), a.toString());
      assertEquals("NOT_FOUND", a.get("error").get("code").asText(), a.toString());
      assertTrue(a.get("error").get("message").asText().contains("no longer knows that job")
          && a.get("error").get("message").asText().contains("the line was not run again"), a.toString());
      Map<String, JsonNode> store = serve.jobs();
      assertEquals(1, store.size(), "only line b ran: " + store);
      assertFalse(Files.exists(dir.resolve("results.jsonl.pending")));
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void resume_aLineTheServiceAcceptedWithoutTellingTheBatch_getsThatJobsResult_byItsKey_andDoesNotRunAgain() throws Exception {
    Path input = dir.resolve("jobs.jsonl");
    Files.writeString(input, "{\"id\": \"a\", \"handler\": \"echo\", \"input\": 1}\n{\"id\": \"b\", \"handler\": \"echo\", \"input\": 2}\n");
    Path output = dir.resolve("results.jsonl");
    Files.writeString(output, "");
    // An earlier run of batch 7d0c… was cut off (its service killed) after line 1 was accepted
    // and before its acknowledgement reached the batch: the journal has the batch's id and no
    // entry for the line, and the service holds the line's job under the line's key.
    String batch = "7d0c5a36-0c47-4b8e-9a51-2f64f7b0e2a1";
    Files.writeString(dir.resolve("results.jsonl.pending"), "{\"batch\":\"" + batch + "\"}\n");
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      Cli.Result earlier = Cli.run("submit", "echo", "1", "--idempotency-key", batch + ":1", "--server", serve.target());
      assertEquals(0, earlier.exitCode(), earlier.err());
      String job = earlier.out().strip();

      Cli.Result r = Cli.run("batch", input.toString(), "--output", output.toString(), "--resume", "--progress", "never",
          "--server", serve.target());
      assertEquals(0, r.exitCode(), r.err());
      List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
      assertEquals(2, lines.size(), lines.toString());
      assertTrue(lines.stream().map(Json::parse).allMatch(n -> n.get("state").asText().equals("SUCCEEDED")), lines.toString());
      Map<String, JsonNode> store = serve.jobs();
      assertEquals(2, store.size(), "line 1 found its job by key; only line 2 made one: " + store);
      assertEquals(batch + ":1", store.get(job).get("idempotency_key").asText());
      assertTrue(store.values().stream().anyMatch(j -> j.get("idempotency_key").asText().equals(batch + ":2")), store.toString());
      assertFalse(Files.exists(dir.resolve("results.jsonl.pending")), "every line answered: the journal goes");
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void resume_aLineThatDidNotSucceed_runsAgainAsANewJob_underTheNextKey() throws Exception {
    Path input = dir.resolve("jobs.jsonl");
    Files.writeString(input, "{\"id\": \"x\", \"handler\": \"is_prime\", \"input\": \"nope\"}\n");
    Path output = dir.resolve("results.jsonl");
    String batch = "0e5f3b52-81d2-4a3c-b7a4-1c9d3e6f2b80";
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      // The earlier run of the batch ran line 1 under its first key and wrote its failure; it was
      // cut off before its end, so the journal keeps the batch's id.
      Cli.Result earlier = Cli.run("run", "is_prime", "\"nope\"", "--idempotency-key", batch + ":1", "--json", "--server",
          serve.target());
      assertEquals(1, earlier.exitCode(), earlier.err());
      Files.writeString(output, "{\"id\":\"x\",\"line\":1,\"state\":\"FAILED\",\"error\":{\"code\":\"HANDLER_ERROR\",\"message\":\"no\"}}\n");
      Files.writeString(dir.resolve("results.jsonl.pending"), "{\"batch\":\"" + batch + "\"}\n");

      Cli.Result r = Cli.run("batch", input.toString(), "--output", output.toString(), "--resume", "--progress", "never",
          "--server", serve.target());
      assertEquals(1, r.exitCode(), r.err());
      assertEquals(2, Files.readAllLines(output, StandardCharsets.UTF_8).size(), "its new result appended");
      Map<String, JsonNode> store = serve.jobs();
      assertEquals(2, store.size(), "--resume ran the failed line again, not the old job's answer: " + store);
      assertTrue(store.values().stream().anyMatch(j -> j.get("idempotency_key").asText().equals(batch + ":1:1")), store.toString());
      serve.shutdown();
    }
  }

  private static int pendingCount(Path file) {
    try {
      return PendingLog.read(file).size();
    } catch (IOException e) {
      return -1;
    }
  }

  private static int lineCount(Path file) {
    try {
      return Files.exists(file) ? (int) Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).count() : 0;
    } catch (IOException e) {
      return 0;
    }
  }
}
