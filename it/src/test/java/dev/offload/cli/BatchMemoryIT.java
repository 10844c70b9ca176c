package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch of 200,000 jobs runs in bounded memory: the CLI and the supervisor run with small
 * fixed heaps ({@value #CLI_HEAP} and {@value #SERVICE_HEAP}) and exit on the first
 * OutOfMemoryError, so a batch that held its lines, its results or its finished jobs would fail.
 */
@ExtendWith(NoLeftoverProcesses.class)
class BatchMemoryIT {

  private static final int JOBS = 200_000;
  private static final String CLI_HEAP = "48m";
  private static final String SERVICE_HEAP = "128m";

  @TempDir Path dir;

  private static List<String> java(String heap, String... args) {
    return OffloadProcess.command(List.of("-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError"), args);
  }

  @Test
  void twoHundredThousandEchoJobs_runInBoundedMemory() throws Exception {
    Path jobs = dir.resolve("echo.jsonl");
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      for (int i = 0; i < JOBS; i++) {
        out.write("{\"handler\": \"echo\", \"input\": {\"i\": " + i + ", \"pad\": \"................................\"}}\n");
      }
    }
    String target = "unix:" + dir.resolve("s.sock");
    Process serve = new ProcessBuilder(java(SERVICE_HEAP, "serve", "--listen", target, "--workers", "2"))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      CompletableFuture<Boolean> serving = CompletableFuture.supplyAsync(() -> {
        try (BufferedReader err = new BufferedReader(new InputStreamReader(serve.getErrorStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = err.readLine()) != null) {
            if (line.contains("serving on")) {
              CompletableFuture.runAsync(() -> err.lines().forEach(l -> {}));
              return true;
            }
          }
          return false;
        } catch (Exception e) {
          return false;
        }
      });
      assertTrue(serving.get(60, TimeUnit.SECONDS), "offload serve came up");

      Path results = dir.resolve("results.jsonl");
      Process batch = new ProcessBuilder(java(CLI_HEAP, "batch", jobs.toString(), "--output", results.toString(),
          "--server", target, "--progress", "never", "--max-in-flight", "512"))
          .redirectErrorStream(true).redirectOutput(dir.resolve("batch.log").toFile()).start();
      assertTrue(batch.waitFor(8, TimeUnit.MINUTES), "the batch finished");
      assertEquals(0, batch.exitValue(), Files.readString(dir.resolve("batch.log")));
      try (Stream<String> lines = Files.lines(results)) {
        assertEquals(JOBS, lines.filter(l -> l.contains("\"SUCCEEDED\"")).count());
      }
      assertTrue(serve.isAlive(), "the service is still up (it did not run out of memory)");
      assertEquals(0, Cli.run("shutdown", "--server", target).exitCode());
      assertTrue(serve.waitFor(30, TimeUnit.SECONDS));
      assertEquals(0, serve.exitValue());
    } finally {
      serve.destroyForcibly();
    }
  }
}
