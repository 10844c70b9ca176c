package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SQLite job store across a kill -9 of {@code serve}: a real supervisor process, a real
 * SQLite file, killed and started again on the same store.
 */
@ExtendWith(NoLeftoverProcesses.class)
class StoreRecoveryIT {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void killDashNine_thenRestart_queuedRun_runningRequeuedOrLost_finishedKept_idsGoOn() throws Exception {
    Map<String, JsonNode> before;
    String next;
    String finished;
    String lostNoRetries;
    String lostWithRetries;
    List<String> queued = new ArrayList<>();
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      finished = serve.submit("echo", "{\"kept\": true}");
      Await.until(finished + " to succeed", WAIT, () -> serve.state(finished).equals("SUCCEEDED"));
      lostNoRetries = serve.submit("sleep", "{\"ms\": 600000}");
      lostWithRetries = serve.submit("sleep", "{\"ms\": 600000}", "--retries", "1");
      Await.until("both sleeps to run", WAIT,
          () -> serve.state(lostNoRetries).equals("RUNNING") && serve.state(lostWithRetries).equals("RUNNING"));
      for (int i = 0; i < 3; i++) {
        queued.add(serve.submit("echo", "{\"queued\": " + i + "}"));
      }
      before = serve.jobs();
      assertEquals(6, before.size());
      for (String id : queued) {
        assertEquals("QUEUED", before.get(id).get("state").asText(), "both workers are busy: " + before.get(id));
      }
      serve.process().destroyForcibly(); // kill -9: no shutdown, no last write
      assertTrue(serve.process().waitFor(10, TimeUnit.SECONDS));
    }

    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      assertTrue(serve.stderrContains("4 jobs to run (1 of them were running and go again), 1 lost with it (FAILED SERVICE_LOST)"),
          serve.stderr());
      JsonNode kept = serve.status(finished);
      assertEquals("SUCCEEDED", kept.get("state").asText());
      assertEquals(Json.parse("{\"kept\": true}"), kept.get("output"), "its output and timings survive: " + kept);
      assertEquals(before.get(finished).get("worker_pid"), kept.get("worker_pid"));
      assertEquals(before.get(finished).get("run_ms"), kept.get("run_ms"));

      JsonNode lost = serve.status(lostNoRetries);
      assertEquals("FAILED", lost.get("state").asText());
      assertEquals("SERVICE_LOST", lost.get("error").get("code").asText());
      assertTrue(lost.get("error").get("message").asText().contains("last knew it alive at 20"), lost.toString());
      assertEquals(1, lost.get("attempts").asInt());

      Await.until(lostWithRetries + " to run again", WAIT, () -> serve.state(lostWithRetries).equals("RUNNING"));
      assertEquals(2, serve.status(lostWithRetries).get("attempts").asInt(), "the lost attempt counted, and this one");
      for (String id : queued) {
        Await.until(id + " to run once a worker is free", WAIT, () -> serve.state(id).equals("SUCCEEDED"));
        assertEquals(1, serve.status(id).get("attempts").asInt());
      }

      next = serve.submit("echo", "1");
      // Past every id the killed service had reserved: one of them might have gone to a job not yet recorded.
      assertTrue(number(next) > 6, "ids go on past the last one before the kill: " + next);
      Map<String, JsonNode> after = serve.jobs();
      assertEquals(before.keySet(), new HashSet<>(after.keySet().stream().filter(id -> !id.equals(next)).toList()),
          "every job kept, none added");
      Cli.run("cancel", lostWithRetries, "--server", serve.target());
      Await.until(lostWithRetries + " to end", WAIT, () -> serve.state(lostWithRetries).equals("CANCELLED"));
      serve.shutdown();
    }

    // A clean stop recorded every end: nothing is left to run or lose at the next start.
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1", "--metrics", ServeProcess.freeLoopbackAddress())) {
      assertFalse(serve.stderrContains("jobs unfinished"), serve.stderr());
      assertTrue(serve.stderrContains("7 finished jobs kept; ids go on from j-" + (number(next) + 1)),
          "a clean stop gives back the ids it reserved and did not use: " + serve.stderr());
      Map<String, JsonNode> all = serve.jobs();
      assertEquals(7, all.size());
      assertTrue(all.values().stream().allMatch(j -> Set.of("SUCCEEDED", "FAILED", "CANCELLED").contains(j.get("state").asText())),
          all.toString());
      JsonNode stats = serve.stats().get("store");
      assertEquals("sqlite", stats.get("kind").asText());
      assertEquals("sqlite:" + dir.resolve("state").resolve("jobs.db").toAbsolutePath(), stats.get("url").asText());
      assertEquals(7, stats.get("jobs_kept").asLong());
      assertTrue(stats.get("size_bytes").asLong() > 0);
      assertEquals("process", stats.get("durability").asText());
      assertEquals("1", Cli.run("run", "echo", "1", "--server", serve.target()).out().strip());
      String metrics = serve.scrapeMetrics();
      double commits = metrics.lines().filter(l -> l.startsWith("offload_store_commits_seconds_count{kind=\"sqlite\"}"))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
      assertTrue(commits >= 1, "the store's commits are counted:\n" + metrics);
      assertTrue(metrics.contains("offload_store_commits_seconds_bucket{kind=\"sqlite\""), "with their latency");
      assertTrue(metrics.contains("offload_store_jobs{kind=\"sqlite\"} 8.0"), metrics);
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void killDashNine_midBatch_everyJobEndsInExactlyOneState_noneRunTwice() throws Exception {
    int lines = 300;
    Path input = dir.resolve("jobs.jsonl");
    StringBuilder jobs = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      jobs.append("{\"id\": \"L").append(i).append("\", \"handler\": \"sleep\", \"input\": {\"ms\": 20, \"line\": ").append(i).append("}}\n");
    }
    Files.writeString(input, jobs);
    Path output = dir.resolve("results.jsonl");
    int written;
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      Process batch = new ProcessBuilder(OffloadProcess.command(List.of(), "batch", input.toString(), "--output", output.toString(),
          "--max-in-flight", "32", "--progress", "never", "--server", serve.target()))
          .redirectError(dir.resolve("batch.err").toFile())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      try {
        Await.until("a third of the batch", WAIT, () -> lineCount(output) >= lines / 3);
        serve.process().destroyForcibly();
        assertTrue(batch.waitFor(30, TimeUnit.SECONDS), "batch did not end after its service was killed");
        assertEquals(3, batch.exitValue(), Files.readString(dir.resolve("batch.err")));
      } finally {
        batch.destroyForcibly();
      }
      written = lineCount(output);
      assertTrue(written < lines, "killed mid-batch: " + written);
    }

    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      Await.until("the jobs left to run", WAIT, () -> {
        JsonNode byState = serve.stats().get("jobs_by_state");
        return byState.get("QUEUED").asInt() == 0 && byState.get("RUNNING").asInt() == 0;
      });
      Map<String, JsonNode> after = serve.jobs();
      // Each line's job, by its input: at most one job per line, each in one terminal state.
      Map<Integer, JsonNode> byLine = new HashMap<>();
      for (JsonNode job : after.values()) {
        int line = job.get("input").get("line").asInt();
        assertFalse(byLine.containsKey(line), "line " + line + " has two jobs: " + byLine.get(line) + " and " + job);
        byLine.put(line, job);
        String state = job.get("state").asText();
        assertTrue(state.equals("SUCCEEDED") || (state.equals("FAILED") && job.get("error").get("code").asText().equals("SERVICE_LOST")),
            job.toString());
        assertEquals(1, job.get("attempts").asInt(), "no job ran twice: " + job);
      }
      long lost = after.values().stream().filter(j -> j.get("state").asText().equals("FAILED")).count();
      assertTrue(lost <= 2, "only what ran on the 2 workers at the kill is lost: " + lost);
      // Every result the batch got is a job the store kept, in the same state.
      int succeededLines = 0;
      for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
        JsonNode result = Json.parse(line);
        if (result.get("state").asText().equals("SUCCEEDED")) {
          succeededLines++;
          int n = Integer.parseInt(result.get("id").asText().substring(1));
          assertEquals("SUCCEEDED", byLine.get(n).get("state").asText(), "line " + n);
        }
      }
      assertEquals(written, succeededLines, "every result written was a success");
      assertTrue(after.size() >= written, "the store holds every job the batch got a result for, and those accepted after: "
          + after.size() + " jobs, " + written + " results");
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void secondServe_onTheSameStore_isRefused_namingThePid() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      Cli.Result second = Cli.run("serve", "--listen", "unix:" + dir.resolve("other.sock"), "--workers", "1",
          "--state-dir", dir.resolve("state").toString());
      assertEquals(1, second.exitCode(), second.err());
      assertTrue(second.err().contains("is in use by another offload serve (pid " + serve.pid() + ")"), second.err());
      assertTrue(second.err().contains(dir.resolve("state").resolve("jobs.db").toString()), second.err());
      assertEquals(1, serve.stats().get("workers").size(), "the first goes on");
      serve.shutdown();
    }
  }

  @Test
  void newerSchema_isRefused_andTheFileLeftAsItIs() throws Exception {
    Path db = dir.resolve("state").resolve("jobs.db");
    Files.createDirectories(db.getParent());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE from_the_future (x INTEGER)");
      s.execute("PRAGMA user_version=99");
    }
    byte[] bytes = Files.readAllBytes(db);
    Cli.Result r = Cli.run("serve", "--listen", "unix:" + dir.resolve("s.sock"), "--workers", "1", "--state-dir", db.getParent().toString());
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.err().contains("was written by a newer offload (schema version 99") && r.err().contains(db.toString()), r.err());
    assertArrayEquals(bytes, Files.readAllBytes(db));
  }

  @Test
  void corruptStore_isRefused_namingTheFile_andLeftAsItIs() throws Exception {
    Path db = dir.resolve("jobs.db");
    byte[] garbage = new byte[64 * 1024];
    new Random(15).nextBytes(garbage);
    Files.write(db, garbage);
    Cli.Result r = Cli.run("serve", "--listen", "unix:" + dir.resolve("s.sock"), "--workers", "1",
        "--state-dir", dir.resolve("state").toString(), "--store", "sqlite:" + db);
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.err().contains("the job store " + db + " cannot be read"), r.err());
    assertArrayEquals(garbage, Files.readAllBytes(db));
    assertFalse(Files.exists(dir.resolve("jobs.db-wal")), "nothing written beside it");
  }

  @Test
  void unknownStoreOrAPasswordInItsUrl_isAUsageError_sayingWhatIs() {
    Cli.Result unknown = Cli.run("serve", "--listen", "unix:" + dir.resolve("s.sock"), "--workers", "1",
        "--state-dir", dir.resolve("state").toString(), "--store", "redis://db/0");
    assertEquals(2, unknown.exitCode(), unknown.err());
    assertTrue(unknown.err().contains("unknown store") && unknown.err().contains("sqlite:PATH") && unknown.err().contains("memory:")
        && unknown.err().contains("postgresql://"), unknown.err());

    // A password in the URL would show in the process list: refused before anything starts, unrepeated.
    Cli.Result withPassword = Cli.run("serve", "--listen", "unix:" + dir.resolve("s.sock"), "--workers", "1",
        "--state-dir", dir.resolve("state").toString(), "--store", "postgresql://me:secret@db/offload");
    assertEquals(2, withPassword.exitCode(), withPassword.err());
    assertTrue(withPassword.err().contains("--store-password-file"), withPassword.err());
    assertFalse(withPassword.err().contains("secret"), withPassword.err());
    assertFalse(Files.exists(dir.resolve("state")), "a refused command line makes no state directory");
  }

  private static long number(String id) {
    return Long.parseLong(id.substring("j-".length()));
  }

  private static int lineCount(Path file) {
    try {
      return Files.exists(file) ? (int) Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).count() : 0;
    } catch (java.io.IOException e) {
      return 0;
    }
  }
}
