package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.testing.SmallDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code offload serve} whose log file cannot be written (a full disk): it says so once on
 * stderr, naming the file and why, serves on, and counts the lines lost in a metric.
 */
@ExtendWith(NoLeftoverProcesses.class)
class LogWriteFailureIT {

  private static final String WARNING = "cannot write the log file";
  private static final String COUNTER = "offload_log_write_failures_total";

  @TempDir Path dir;

  @Test
  void logFileOnAFullDisk_warnsOnceOnStderr_andTheMetricKeepsCounting() throws Exception {
    Path state = Files.createDirectories(dir.resolve("state"));
    // The log is a file on a full disk of its own: every write fails with ENOSPC, even for root. Not
    // a link to /dev/full: its timestamp is the machine's boot, and on a later day Logback takes it
    // for an earlier day's log and rolls it over at the first line, writing a fresh file after.
    try (SmallDisk disk = SmallDisk.mount(dir, 1)) {
      Path full = Files.createFile(disk.path().resolve("offload.log"));
      disk.fill();
      Path log = Files.createSymbolicLink(state.resolve("offload.log"), full);
      serveWithTheLogOn(state, log);
    }
  }

  private void serveWithTheLogOn(Path state, Path log) throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(),
        "--workers", "1", "--state-dir", state.toString(), "--metrics", ServeProcess.freeLoopbackAddress())) {
      failAJob(serve); // a FAILED job is a warning in the log

      Await.until("the warning on stderr", Duration.ofSeconds(10), () -> serve.stderrContains(WARNING));
      double lost = lostLines(serve);
      assertTrue(lost >= 1, lost + " lines lost");
      failAJob(serve);
      Await.until("the count to go on", Duration.ofSeconds(10), () -> lostLines(serve) > lost);

      List<String> warnings = serve.stderrLines().stream().filter(l -> l.contains(WARNING)).toList();
      assertEquals(1, warnings.size(), "once: " + serve.stderr());
      assertTrue(warnings.getFirst().contains(log.toString()) && warnings.getFirst().contains("No space left on device"), warnings.getFirst());
      assertEquals("1", Cli.run("run", "echo", "1", "--server", serve.target()).out().strip(), "it serves on");
    }
  }

  private static void failAJob(ServeProcess serve) {
    Cli.Result failed = Cli.run("run", "is_prime", "\"not a number\"", "--server", serve.target());
    assertEquals(1, failed.exitCode(), failed.err());
  }

  private static double lostLines(ServeProcess serve) {
    try {
      return ServeProcess.sample(serve.scrapeMetrics(), COUNTER);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
