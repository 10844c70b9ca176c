package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.ServeProcess;
import dev.offload.sdk.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client's side of a service that dies: {@code offload batch} and {@code offload serve} as
 * processes of their own, the service killed with SIGKILL in the middle of a batch whose window
 * is full. The client ends at once with exit 3, every result it received written exactly once;
 * run again with --resume, it finishes the batch.
 */
@ExtendWith(NoLeftoverProcesses.class)
class BatchChaosIT {

  private static final int LINES = 3_000;
  /** Results written before the kill: the batch is well under way, and far from done. */
  private static final int KILL_AFTER = 300;

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    started.forEach(Process::destroyForcibly);
  }

  private String target() {
    return "unix:" + dir.resolve("s.sock");
  }

  @Test
  void serviceKilledMidBatch_clientExits3Promptly_withEveryReceivedResultWrittenOnce_andResumeFinishes() throws Exception {
    Path jobs = dir.resolve("jobs.jsonl");
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      for (int i = 1; i <= LINES; i++) {
        // 5 ms each on 2 workers: at least 7.5 s in all, so the kill comes mid-batch. With a
        // retry, the jobs the killed service was running run again after its restart (at least
        // once); without one they would end FAILED SERVICE_LOST there (at most once: BatchResumeIT).
        out.write("{\"id\": \"j" + i + "\", \"handler\": \"sleep\", \"input\": {\"ms\": 5}, \"retries\": 1}\n");
      }
    }
    Path results = dir.resolve("results.jsonl");
    ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2");
    started.add(serve.process());
    List<Long> workers = serve.workerPids();
    Path poolDir = ServeProcessIT.runDir(workers.getFirst());

    // The default window of 256 is full all along: 2 workers run what 3,000 lines queue.
    Process batch = start(OffloadProcess.command(List.of(),
        "batch", jobs.toString(), "--output", results.toString(), "--server", target(), "--progress", "never"),
        dir.resolve("batch.err"));
    Await.until(KILL_AFTER + " results written", Duration.ofSeconds(60), () -> lineCount(results) >= KILL_AFTER);
    assertTrue(batch.isAlive(), "the batch was still running when its service was killed");
    serve.process().destroyForcibly(); // SIGKILL
    assertTrue(serve.process().waitFor(10, TimeUnit.SECONDS));

    assertTrue(batch.waitFor(10, TimeUnit.SECONDS), "the client ended within 10 s of its service's death");
    String err = Files.readString(dir.resolve("batch.err"));
    assertEquals(ExitCodes.UNAVAILABLE, batch.exitValue(), err);
    assertTrue(err.contains("UNAVAILABLE") && err.contains("--resume"), err);

    Map<String, Long> written = resultLines(results);
    assertTrue(written.size() >= KILL_AFTER && written.size() < LINES, written.size() + " results");
    assertTrue(err.contains(written.size() + " results are written"), err);
    written.forEach((id, line) -> assertEquals("j" + line, id, "the result of line " + line + " carries its id"));

    // Nothing is left of the service: its workers exit by themselves, and the last one out
    // removes the pool's directory (NoLeftoverProcesses checks every child process too).
    for (long pid : workers) {
      ProcessHandle.of(pid).ifPresent(p -> p.onExit().orTimeout(10, TimeUnit.SECONDS).join());
    }
    assertFalse(Files.exists(poolDir), "the pool's socket directory " + poolDir + " outlived its workers");

    // As the message says: a new service and --resume run what is missing, once.
    ServeProcess again = ServeProcess.start(dir, List.of(), "--workers", "2");
    started.add(again.process());
    Cli.Result resumed = Cli.run("batch", jobs.toString(), "--output", results.toString(), "--resume",
        "--server", target(), "--progress", "never");
    assertEquals(0, resumed.exitCode(), resumed.err());
    Map<String, Long> all = resultLines(results);
    assertEquals(LINES, all.size());
    assertEquals(0, Cli.run("shutdown", "--server", target()).exitCode());
    assertTrue(again.process().waitFor(30, TimeUnit.SECONDS));
  }

  /**
   * Every result line of the file by id, checking that each is whole JSON, SUCCEEDED (a job that
   * did not end before the kill has no result at all), and that no id and no line is written twice.
   */
  private static Map<String, Long> resultLines(Path file) throws IOException {
    Map<String, Long> lineById = new HashMap<>();
    Set<Long> lines = new HashSet<>();
    for (String text : Files.readAllLines(file)) {
      JsonNode result = Json.parse(text);
      String id = result.get("id").asText();
      long line = result.get("line").asLong();
      assertEquals("SUCCEEDED", result.get("state").asText(), text);
      assertNull(lineById.put(id, line), "id " + id + " written twice");
      assertTrue(lines.add(line), "line " + line + " written twice");
    }
    return lineById;
  }

  private static long lineCount(Path file) {
    if (!Files.exists(file)) {
      return 0;
    }
    try (var lines = Files.lines(file)) {
      return lines.count();
    } catch (IOException e) {
      return 0;
    }
  }

  private Process start(List<String> command, Path stderr) throws IOException {
    Process process = new ProcessBuilder(command)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(stderr.toFile())
        .start();
    started.add(process);
    return process;
  }
}
