package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.Signals;
import dev.offload.sdk.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code offload serve} as its own process, started from the build's runnable lib/ folder: it
 * ends, with every worker, on {@code offload shutdown}, on SIGTERM even with a hung job, and its
 * workers exit by themselves when it is killed with SIGKILL.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ServeProcessIT {

  private static final Path LIB = OffloadProcess.cliLib();

  @TempDir Path dir;
  private Process serve;

  @AfterEach
  void killLeftovers() {
    if (serve != null && serve.isAlive()) {
      serve.destroyForcibly();
    }
  }

  private String target() {
    return "unix:" + dir.resolve("s.sock");
  }

  /** Starts {@code offload serve} and waits (bounded) for its "serving on" line. */
  private void startServe(String... extra) throws Exception {
    assertTrue(Files.isDirectory(LIB), "the runnable lib/ folder is built in the package phase: " + LIB.toAbsolutePath());
    List<String> args = new ArrayList<>(List.of(
        "serve", "--listen", target(), "--workers", "2", "--enable-test-handlers", "--cancel-grace", "1s"));
    args.addAll(List.of(extra));
    List<String> command = OffloadProcess.command(List.of(), args.toArray(String[]::new));
    serve = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    CompletableFuture<Boolean> serving = CompletableFuture.supplyAsync(() -> {
      try (BufferedReader err = new BufferedReader(new InputStreamReader(serve.getErrorStream(), StandardCharsets.UTF_8))) {
        String line;
        boolean seen = false;
        while ((line = err.readLine()) != null) {
          seen |= line.contains("serving on");
          if (seen) {
            // Keep draining so the service never blocks on a full pipe.
            CompletableFuture.runAsync(() -> err.lines().forEach(l -> {}));
            return true;
          }
        }
        return false;
      } catch (Exception e) {
        return false;
      }
    });
    assertTrue(serving.get(60, TimeUnit.SECONDS), "offload serve did not come up");
  }

  private List<Long> workerPids() {
    Cli.Result stats = Cli.run("stats", "--json", "--server", target());
    assertEquals(0, stats.exitCode(), stats.err());
    return Json.parse(stats.out()).get("workers").findValues("pid").stream().map(n -> n.asLong()).toList();
  }

  private static void assertAllGone(List<Long> pids, Duration within) throws Exception {
    for (long pid : pids) {
      var handle = ProcessHandle.of(pid);
      if (handle.isPresent()) {
        handle.get().onExit().get(within.toMillis(), TimeUnit.MILLISECONDS);
      }
      assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "worker " + pid + " still alive");
    }
  }

  @Test
  void shutdownCommand_endsTheSupervisorAndEveryWorker() throws Exception {
    startServe();
    List<Long> workers = workerPids();
    assertEquals(2, workers.size());
    Path runDir = runDir(workers.getFirst());
    Cli.Result r = Cli.run("shutdown", "--server", target());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(serve.waitFor(30, TimeUnit.SECONDS), "supervisor exited");
    assertEquals(0, serve.exitValue());
    assertAllGone(workers, Duration.ofSeconds(5));
    assertFalse(Files.exists(dir.resolve("s.sock")), "socket removed");
    assertFalse(Files.exists(runDir), "the pool's socket directory " + runDir + " removed");
  }

  @Test
  void sigterm_withAHungJob_exits0WithinTheBound() throws Exception {
    startServe("--shutdown-grace", "1s");
    List<Long> workers = workerPids();
    Cli.Result hung = Cli.run("submit", "crash", "{\"mode\": \"hang\"}", "--server", target());
    assertEquals(0, hung.exitCode(), hung.err());
    String queuedBehind = Cli.run("submit", "echo", "1", "--server", target()).out().strip();
    assertFalse(queuedBehind.isEmpty());
    long start = System.nanoTime();
    serve.destroy(); // SIGTERM
    // grace 1 s + cancel grace 1 s + a few seconds for kills and exits
    assertTrue(serve.waitFor(10, TimeUnit.SECONDS), "supervisor exited within the bound");
    assertEquals(0, serve.exitValue());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 10);
    assertAllGone(workers, Duration.ofSeconds(5));
  }

  /**
   * The first signal gives running jobs a minute; the second must not wait it out: the job that
   * ignores its cancel has its worker killed at once, and serve exits within seconds.
   */
  @ParameterizedTest
  @ValueSource(strings = {"TERM", "INT"})
  void secondSignal_duringALongGrace_stopsNow(String signal) throws Exception {
    startServe("--shutdown-grace", "60s");
    List<Long> workers = workerPids();
    Cli.Result stubborn = Cli.run("submit", "spin", "{\"ms\": 120000, \"ignore_cancel\": true}", "--server", target());
    assertEquals(0, stubborn.exitCode(), stubborn.err());
    Await.until("the job to run", Duration.ofSeconds(10),
        () -> Cli.run("status", stubborn.out().strip(), "--server", target()).out().contains("RUNNING"));

    Signals.send(signal, serve.pid());
    long firstSent = System.nanoTime();
    Await.until("the shutdown to begin", Duration.ofSeconds(10),
        () -> Json.parse(Cli.run("stats", "--json", "--server", target()).out()).get("shutting_down").asBoolean());
    // A signal that comes within SAME_REQUEST of the first is that request again (timeout(1) signals
    // the process and then its group), by contract; a second request comes later. The margin is
    // for the JVM's signal thread, which may see the two signals later than they were sent.
    Duration window = dev.offload.cli.Signals.SAME_REQUEST.plus(Duration.ofMillis(500));
    Await.until("the first signal's window to pass", Duration.ofSeconds(10), () -> System.nanoTime() - firstSent > window.toNanos());
    long second = System.nanoTime();
    Signals.send(signal, serve.pid());

    // A second for the cancel, a second for the kill to land, the pool's close: far below the grace.
    assertTrue(serve.waitFor(15, TimeUnit.SECONDS), "serve still running 15 s after the second signal, with a 60 s grace");
    System.out.printf("second SIG%s: serve exited %d ms after it%n", signal, Duration.ofNanos(System.nanoTime() - second).toMillis());
    assertEquals(0, serve.exitValue());
    assertAllGone(workers, Duration.ofSeconds(5));
  }

  @Test
  void sigkillOfTheSupervisor_workersExitByThemselvesAndLeaveNothing() throws Exception {
    startServe();
    List<Long> workers = workerPids();
    Path runDir = runDir(workers.getFirst());
    Cli.run("submit", "spin", "{\"ms\": 60000, \"ignore_cancel\": true}", "--server", target());
    serve.destroyForcibly(); // SIGKILL: no hook, no goodbye
    assertTrue(serve.waitFor(10, TimeUnit.SECONDS));
    assertAllGone(workers, Duration.ofSeconds(5));
    assertFalse(Files.exists(runDir), "the pool's socket directory " + runDir + " outlived its workers");
  }

  /**
   * The pool's private directory, from a worker's command line: its socket is in it. Read from
   * /proc, as ProcessHandle.Info gives no arguments for a command line as long as a worker's.
   */
  static Path runDir(long workerPid) throws IOException {
    String socket = "-Doffload.worker.socket=";
    String[] args = Files.readString(Path.of("/proc", String.valueOf(workerPid), "cmdline")).split("\0");
    return java.util.Arrays.stream(args).filter(a -> a.startsWith(socket))
        .map(a -> Path.of(a.substring(socket.length())).getParent())
        .findFirst().orElseThrow();
  }

  @Test
  void stateDirAndDebugLevel_keepJobTransitionsAndWorkerLogs() throws Exception {
    Path state = dir.resolve("state");
    startServe("--state-dir", state.toString(), "--log-level", "debug");
    Cli.Result run = Cli.run("run", "echo", "1", "--server", target());
    assertEquals(0, run.exitCode(), run.err());
    assertEquals(0, Cli.run("shutdown", "--server", target()).exitCode());
    assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not end after shutdown");

    String log = Files.readString(state.resolve("offload.log"));
    assertTrue(log.contains("j-1 (echo) queued") && log.contains("j-1 (echo) running on worker pid") && log.contains("j-1 (echo) SUCCEEDED"), log);
    try (var workers = Files.list(state.resolve("workers"))) {
      assertEquals(2, workers.filter(f -> f.toString().endsWith(".log")).count(), "one log per worker, kept after the service ended");
    }
  }
}
