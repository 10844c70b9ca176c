package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch of inputs twice the size of a small service's heap runs through it: {@code
 * --pending-memory} (an eighth of the heap by default) holds the batch back. And a service whose
 * heap fills all the same (its limit set past what the heap holds) exits at once, saying why,
 * instead of going on in no known state: before, a service that caught an OutOfMemoryError in a
 * gRPC or store task went on holding a job that never ended, and every job queued behind it, while
 * it answered {@code stats} as if well. Its store gives the jobs back at the next start, and
 * {@code batch --resume} answers every line once.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ServeOutOfMemoryIT {

  private static final int HEAP_MIB = 48;
  /** Each line's input, under the default --max-input-size (4m). */
  private static final int INPUT_BYTES = 1 << 20;
  /** All within batch's default window of 256 in flight: twice the heap in inputs alone. */
  private static final int LINES = 2 * HEAP_MIB;

  @TempDir Path dir;

  private Path largeLines() throws Exception {
    Path jobs = dir.resolve("jobs.jsonl");
    String input = "\"" + "x".repeat(INPUT_BYTES - 2) + "\"";
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      for (int i = 1; i <= LINES; i++) {
        out.write("{\"id\": \"L" + i + "\", \"handler\": \"echo\", \"input\": " + input + "}\n");
      }
    }
    return jobs;
  }

  @Test
  void aBatchTwiceTheHeap_runsThroughASmallService_heldBackByItsPendingMemory() throws Exception {
    Path jobs = largeLines();
    try (ServeProcess small = ServeProcess.start(dir, List.of("-Xmx" + HEAP_MIB + "m"), "--workers", "1", "--state-dir",
        dir.resolve("state").toString())) {
      Cli.Result batch = bounded(() -> Cli.run("batch", jobs.toString(), "--server", small.target(), "--progress", "never"));

      assertEquals(ExitCodes.OK, batch.exitCode(), batch.err());
      assertEquals(LINES, batch.out().lines().map(Json::parse).filter(r -> r.get("state").asText().equals("SUCCEEDED")).count(),
          "every line succeeded");
      assertTrue(small.process().isAlive(), "serve is up; stderr: " + small.stderr());
      Cli.Result stats = Cli.run("stats", "--server", small.target());
      assertEquals(ExitCodes.OK, stats.exitCode(), stats.err());
      small.shutdown();
    }
  }

  @Test
  void aBatchThatFillsTheHeap_serveExitsSayingSo_andAfterARestart_resumeAnswersEveryLineOnce() throws Exception {
    Path jobs = largeLines();
    Path state = dir.resolve("state");
    Path results = dir.resolve("results.jsonl");

    List<ProcessHandle> workers = new ArrayList<>();
    // A limit past what the heap holds: the inputs the batch sends at once then fill it.
    try (ServeProcess small = ServeProcess.start(dir, List.of("-Xmx" + HEAP_MIB + "m"), "--workers", "1", "--state-dir",
        state.toString(), "--pending-memory", "1g")) {
      small.workerPids().forEach(pid -> ProcessHandle.of(pid).ifPresent(workers::add));
      Cli.Result batch = bounded(() -> Cli.run("batch", jobs.toString(), "--output", results.toString(), "--server", small.target(),
          "--progress", "never"));
      assertEquals(ExitCodes.UNAVAILABLE, batch.exitCode(), "the service went away mid-batch: " + batch.err());
      assertTrue(small.process().waitFor(60, TimeUnit.SECONDS), "serve exited after its OutOfMemoryError");
      assertEquals(3, small.process().exitValue(), "the JVM's status for ExitOnOutOfMemoryError; stderr: " + small.stderr());
      String message = "Terminating due to java.lang.OutOfMemoryError: Java heap space";
      Await.until("serve's stderr to say " + message, Duration.ofSeconds(10), () -> small.stderrContains(message));
      for (ProcessHandle worker : workers) { // it sees its control stream end, and exits by itself
        Await.until("worker " + worker.pid() + " to exit after its service", Duration.ofSeconds(30), () -> !worker.isAlive());
      }
    } finally {
      // A dead service's workers are no longer this JVM's descendants, which NoLeftoverProcesses checks.
      workers.forEach(ProcessHandle::destroyForcibly);
    }

    try (ServeProcess again = ServeProcess.start(dir, List.of(), "--workers", "1", "--state-dir", state.toString())) {
      Cli.Result resumed = bounded(() -> Cli.run("batch", jobs.toString(), "--output", results.toString(), "--resume", "--server",
          again.target(), "--progress", "never"));
      assertTrue(resumed.exitCode() == ExitCodes.OK || resumed.exitCode() == ExitCodes.FAILED, resumed.err());
      Map<String, Integer> resultsById = new HashMap<>();
      for (String line : Files.readAllLines(results)) {
        JsonNode result = Json.parse(line);
        resultsById.merge(result.get("id").asText(), 1, Integer::sum);
        String outcome = result.get("state").asText();
        // The job running as the service died had no retries: lost with it, and said so. Every other line succeeds.
        assertTrue(outcome.equals("SUCCEEDED") || result.path("error").path("code").asText().equals("SERVICE_LOST"),
            result.get("id").asText() + " ended " + outcome + ": " + result.path("error"));
      }
      assertEquals(LINES, resultsById.size(), "every line answered");
      resultsById.forEach((id, n) -> assertEquals(1, n, id + " answered once"));
      again.shutdown();
    }
  }

  /** A command run in this JVM, waited for a bounded time: a wedged service must fail the test, not hang it. */
  private static Cli.Result bounded(Supplier<Cli.Result> command) throws Exception {
    return CompletableFuture.supplyAsync(command).get(3, TimeUnit.MINUTES);
  }
}
