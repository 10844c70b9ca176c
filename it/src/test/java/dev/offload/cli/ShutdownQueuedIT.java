package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.client.JobHandle;
import dev.offload.client.OffloadClient;
import dev.offload.client.ServiceUnavailableException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clean {@code offload shutdown} with jobs queued, against real serve processes: with a SQLite
 * store the queued jobs stay queued and run at the next start, and the {@code run}, {@code batch}
 * and Java clients waiting on them end UNAVAILABLE (exit 3) naming their ids, by which their
 * results are fetched after the restart; {@code --cancel-queued}, and a {@code memory:} store,
 * cancel them instead.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ShutdownQueuedIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Pattern JOB_ID = Pattern.compile("\\bj-\\d+");
  private static final int BATCH_LINES = 3;

  @TempDir Path dir;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void shutdown_keepsQueuedJobs_waitingClientsExit3NamingThem_theyRunAtTheNextStart_fetchableById() throws Exception {
    Path input = batchFile();
    Path output = dir.resolve("results.jsonl");
    String blocker;
    String runJob;
    String javaJob;
    List<String> batchJobs;
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1");
        OffloadClient client = OffloadClient.connect(serve.target())) {
      blocker = blockTheWorker(serve);
      Process run = start("run", "run", "echo", "{\"run\": 1}", "--server", serve.target());
      Process batch = start("batch", "batch", input.toString(), "--output", output.toString(), "--progress", "never",
          "--server", serve.target());
      JobHandle<String> javaHandle = client.submitJson("echo", "{\"java\": 1}");
      javaJob = javaHandle.id();
      try {
        Await.until("the run, the batch's lines and the Java client's job queued behind the sleep", WAIT,
            () -> serve.stats().get("queue_depth").asInt() == 2 + BATCH_LINES && pendingCount(output) == BATCH_LINES);

        Cli.Result shutdown = Cli.run("shutdown", "--grace", "500ms", "--server", serve.target());
        assertEquals(0, shutdown.exitCode(), shutdown.err());
        assertTrue(shutdown.err().contains("1 running, " + (2 + BATCH_LINES) + " queued jobs: they stay queued in its store and run at"
            + " its next start"), shutdown.err());

        String runErr = ended(run, "run", 3);
        runJob = onlyId(runErr);
        assertTrue(runErr.contains("the service shut down before job " + runJob + " ran: it stays queued in its store sqlite:")
            && runErr.contains("'offload result --wait " + runJob + "'"), runErr);

        String batchErr = ended(batch, "batch", 3);
        batchJobs = List.copyOf(new TreeSet<>(ids(batchErr)));
        assertEquals(BATCH_LINES, batchJobs.size(), "the batch's message names its " + BATCH_LINES + " jobs: " + batchErr);
        assertTrue(batchErr.contains("before " + BATCH_LINES + " jobs (") && batchErr.contains("they stay queued"), batchErr);
        assertTrue(batchErr.contains("are in " + PendingLog.pathFor(output)) && batchErr.contains("--resume to fetch their results by id"
            + " (nothing runs twice)"), batchErr);
        Map<Long, PendingLog.Entry> pending = PendingLog.read(PendingLog.pathFor(output));
        assertEquals(Set.copyOf(batchJobs), Set.copyOf(pending.values().stream().map(PendingLog.Entry::job).toList()),
            "the batch keeps the kept jobs' ids in OUTPUT.pending");

        ServiceUnavailableException javaEnd = assertThrows(ServiceUnavailableException.class, javaHandle::get);
        assertTrue(javaEnd.getMessage().contains("job " + javaJob) && javaEnd.getMessage().contains("stays queued"),
            javaEnd.getMessage());
        assertTrue(serve.process().waitFor(30, TimeUnit.SECONDS), "serve did not exit after offload shutdown");
        assertEquals(0, serve.process().exitValue(), serve.stderr());
      } finally {
        run.destroyForcibly();
        batch.destroyForcibly();
      }
    }

    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      assertTrue(serve.stderrContains((2 + BATCH_LINES) + " jobs to run"), serve.stderr());
      JsonNode stopped = serve.status(blocker);
      assertEquals("CANCELLED", stopped.get("state").asText(), "a job still running after the grace is cancelled: " + stopped);
      assertEquals("SHUTDOWN", stopped.get("error").get("code").asText(), stopped.toString());

      Cli.Result result = Cli.run("result", "--wait", runJob, "--server", serve.target());
      assertEquals(0, result.exitCode(), result.err());
      assertEquals(Json.parse("{\"run\": 1}"), Json.parse(result.out()));
      Cli.Result javaResult = Cli.run("result", "--wait", javaJob, "--server", serve.target());
      assertEquals(Json.parse("{\"java\": 1}"), Json.parse(javaResult.out()), javaResult.err());

      Cli.Result resumed = Cli.run("batch", input.toString(), "--output", output.toString(), "--resume", "--progress", "never",
          "--server", serve.target());
      assertEquals(0, resumed.exitCode(), resumed.err());
      List<JsonNode> lines = Files.readAllLines(output, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).map(Json::parse).toList();
      assertEquals(BATCH_LINES, lines.size(), "one result per line: " + lines);
      assertTrue(lines.stream().allMatch(l -> l.get("state").asText().equals("SUCCEEDED")), lines.toString());
      assertFalse(Files.exists(PendingLog.pathFor(output)), "nothing is pending any more");

      Map<String, JsonNode> all = serve.jobs();
      assertEquals(3 + BATCH_LINES, all.size(), "the resume ran nothing again: " + all.keySet());
      for (String id : concat(List.of(runJob, javaJob), batchJobs)) {
        assertEquals("SUCCEEDED", all.get(id).get("state").asText(), all.get(id).toString());
        assertEquals(1, all.get(id).get("attempts").asInt(), "run once, at the next start: " + all.get(id));
      }
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void sigterm_keepsTheQueue_andAJobThatLosesItsWorkerDuringTheGrace_withRetriesLeft_isKeptToo() throws Exception {
    String retried;
    String queued;
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1", "--shutdown-grace", "60s")) {
      long worker = serve.workerPids().getFirst();
      retried = serve.submit("sleep", "{\"ms\": 600000}", "--retries", "1");
      Await.until(retried + " to run", WAIT, () -> serve.status(retried).get("state").asText().equals("RUNNING"));
      queued = serve.submit("echo", "{\"queued\": 1}");

      dev.offload.testing.Signals.send("TERM", serve.pid());
      Await.until("the shutdown to begin", WAIT, () -> serve.stats().get("shutting_down").asBoolean());
      ProcessHandle.of(worker).ifPresent(ProcessHandle::destroyForcibly); // its job loses its worker midway through the grace

      assertTrue(serve.process().waitFor(30, TimeUnit.SECONDS), "serve did not exit once no job ran, 60 s grace or not");
      assertEquals(0, serve.process().exitValue(), serve.stderr());
    }
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      assertTrue(serve.stderrContains("2 jobs to run"), serve.stderr());
      Await.until(retried + " to run again", WAIT, () -> serve.status(retried).get("state").asText().equals("RUNNING"));
      assertEquals(2, serve.status(retried).get("attempts").asInt(), "the attempt its lost worker cost is counted");
      Cli.Result cancel = Cli.run("cancel", retried, "--server", serve.target());
      assertEquals(0, cancel.exitCode(), cancel.err());
      Await.until(queued + " to run after it", WAIT, () -> serve.status(queued).get("state").asText().equals("SUCCEEDED"));
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void shutdownCancelQueued_cancelsThem_andTheNextStartRunsNothing() throws Exception {
    String queued;
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      blockTheWorker(serve);
      queued = serve.submit("echo", "{\"queued\": 1}");
      Process run = start("run", "run", "echo", "{\"run\": 1}", "--server", serve.target());
      try {
        Await.until("both jobs queued behind the sleep", WAIT, () -> serve.stats().get("queue_depth").asInt() == 2);
        Cli.Result shutdown = Cli.run("shutdown", "--cancel-queued", "--grace", "500ms", "--server", serve.target());
        assertEquals(0, shutdown.exitCode(), shutdown.err());
        assertTrue(shutdown.err().contains("2 queued jobs: they are cancelled)"), shutdown.err());
        String runErr = ended(run, "run", 4);
        assertTrue(runErr.contains("SHUTDOWN"), runErr);
        assertTrue(serve.process().waitFor(30, TimeUnit.SECONDS), "serve did not exit after offload shutdown");
      } finally {
        run.destroyForcibly();
      }
    }
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      assertFalse(serve.stderrContains("jobs to run"), serve.stderr());
      Map<String, JsonNode> all = serve.jobs();
      assertEquals(3, all.size(), all.toString());
      for (JsonNode job : all.values()) {
        assertEquals("CANCELLED", job.get("state").asText(), job.toString());
        assertEquals("SHUTDOWN", job.get("error").get("code").asText(), job.toString());
      }
      assertEquals(0, all.get(queued).get("attempts").asInt(), "never ran: " + all.get(queued));
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void memoryStore_cannotKeepQueuedJobs_soShutdownCancelsThem() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1", "--store", "memory:")) {
      blockTheWorker(serve);
      Process run = start("run", "run", "echo", "{\"run\": 1}", "--server", serve.target());
      try {
        Await.until("the run's job queued behind the sleep", WAIT, () -> serve.stats().get("queue_depth").asInt() == 1);
        Cli.Result shutdown = Cli.run("shutdown", "--grace", "500ms", "--server", serve.target());
        assertEquals(0, shutdown.exitCode(), shutdown.err());
        assertTrue(shutdown.err().contains("1 queued jobs: they are cancelled, as its store keeps nothing (--store memory:))"),
            shutdown.err());
        String runErr = ended(run, "run", 4);
        assertTrue(runErr.contains("SHUTDOWN") && runErr.contains("before the job ran"), runErr);
        assertTrue(serve.process().waitFor(30, TimeUnit.SECONDS), "serve did not exit after offload shutdown");
      } finally {
        run.destroyForcibly();
      }
    }
  }

  /** Submits a sleep that holds the one worker until the shutdown's grace ends it; returns its id once it runs. */
  private static String blockTheWorker(ServeProcess serve) throws InterruptedException {
    String id = serve.submit("sleep", "{\"ms\": 600000}");
    Await.until(id + " to run", WAIT, () -> serve.status(id).get("state").asText().equals("RUNNING"));
    return id;
  }

  private Path batchFile() throws IOException {
    Path input = dir.resolve("jobs.jsonl");
    StringBuilder jobs = new StringBuilder();
    for (int i = 0; i < BATCH_LINES; i++) {
      jobs.append("{\"id\": \"L").append(i).append("\", \"handler\": \"echo\", \"input\": {\"line\": ").append(i).append("}}\n");
    }
    Files.writeString(input, jobs);
    return input;
  }

  /** Starts an offload command as its own process, its stderr to NAME.err in the test's directory. */
  private Process start(String name, String... args) throws IOException {
    return new ProcessBuilder(OffloadProcess.command(List.of(), args))
        .redirectError(dir.resolve(name + ".err").toFile())
        .redirectOutput(dir.resolve(name + ".out").toFile())
        .start();
  }

  /** Waits for a command started by {@link #start} to exit with {@code code}; returns its stderr. */
  private String ended(Process process, String name, int code) throws Exception {
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), name + " did not end after the service shut down");
    String err = Files.readString(dir.resolve(name + ".err"));
    assertEquals(code, process.exitValue(), name + ": " + err);
    return err;
  }

  private static List<String> ids(String text) {
    List<String> ids = new ArrayList<>();
    Matcher m = JOB_ID.matcher(text);
    while (m.find()) {
      ids.add(m.group());
    }
    return ids;
  }

  private static String onlyId(String text) {
    Set<String> ids = new TreeSet<>(ids(text));
    assertEquals(1, ids.size(), "one job id named: " + text);
    return ids.iterator().next();
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static int pendingCount(Path output) {
    try {
      Path pending = PendingLog.pathFor(output);
      return Files.exists(pending) ? PendingLog.read(pending).size() : 0;
    } catch (IOException | RuntimeException e) {
      return 0; // its last line is being written
    }
  }
}
