package dev.offload.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.client.JobFailedException;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an embedded pool leaves behind: nothing in the temporary directory, even when the program
 * exits without closing it; and, when asked, its workers' logs.
 */
@ExtendWith(NoLeftoverProcesses.class)
class EmbeddingHygieneIT {

  private static final Duration APP_LIMIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  @Test
  void appExitingWithoutClose_endsItsWorkersAndLeavesNothingInTmpdir() throws Exception {
    Path tmp = Files.createDirectory(dir.resolve("tmp"));
    Path output = dir.resolve("app.out");
    Process app = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED",
        "-Djava.io.tmpdir=" + tmp,
        // the worker distribution beside the CLI, as the launcher's pools use: no extraction to wait for
        "-Doffload.worker.home=" + System.getProperty("offload.worker.home"),
        "-cp", System.getProperty("java.class.path"),
        ExitWithoutCloseApp.class.getName())
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      assertTrue(app.waitFor(APP_LIMIT.toSeconds(), TimeUnit.SECONDS),
          "the app did not exit within " + APP_LIMIT.toSeconds() + " s of returning from main without close(): "
              + Files.readString(output));
    } finally {
      app.destroyForcibly().waitFor();
    }
    String out = Files.readString(output);
    assertEquals(0, app.exitValue(), out);

    long workerPid = Long.parseLong(out.lines().filter(l -> l.startsWith("worker-pid ")).findFirst()
        .orElseThrow(() -> new AssertionError("the app printed no worker pid: " + out)).substring("worker-pid ".length()));
    // At once, not eventually: the pool's hook has ended its workers before the JVM exited.
    assertFalse(ProcessHandle.of(workerPid).map(ProcessHandle::isAlive).orElse(false),
        "worker " + workerPid + " outlived the app that started it");
    try (Stream<Path> left = Files.list(tmp)) {
      List<Path> files = left.toList();
      assertTrue(files.isEmpty(), "the app left " + files + " in its java.io.tmpdir; its output:\n" + out);
    }
  }

  @Test
  void logDir_keepsTheWorkersLogsAfterClose() throws Exception {
    Path logs = dir.resolve("worker-logs");
    SupervisorConfig config = SupervisorConfig.defaults().withPool(RunningService.pool(1).logDir(logs).build());

    try (ProcessPool pool = ProcessPool.start(config)) {
      assertThrows(JobFailedException.class, () -> pool.submitJson("is_prime", "\"seven\"").get(Duration.ofSeconds(30)));
    }

    List<Path> files;
    try (Stream<Path> list = Files.list(logs)) {
      files = list.filter(f -> f.getFileName().toString().endsWith(".log")).toList();
    }
    assertEquals(1, files.size(), "one worker, one log: " + files);
    String log = Files.readString(files.getFirst());
    assertTrue(log.lines().anyMatch(l -> l.contains("JobRunner: job ") && l.contains(" failed")),
        "the worker's log holds no line of the failed job:\n" + log);
    assertTrue(log.contains("exits: "), "the worker's log does not go on to its exit:\n" + log);
  }
}
