package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a pool leaves in its private socket directory, against {@code serve} processes whose
 * temporary directory is the test's: a worker killed with SIGKILL leaves no socket behind, and the
 * directory goes once no worker is left, however the supervisor and its workers died.
 */
@ExtendWith(NoLeftoverProcesses.class)
class PoolDirectoryIT {

  @TempDir Path dir;

  private Path tmp() throws IOException {
    return Files.createDirectories(dir.resolve("tmp"));
  }

  private ServeProcess serve() throws Exception {
    return ServeProcess.start(dir, List.of("-Djava.io.tmpdir=" + tmp()), "--workers", "2");
  }

  @Test
  void sigkilledWorkers_leaveNoSocketBehind() throws Exception {
    try (ServeProcess serve = serve()) {
      Path pool = poolDir(serve.workerPids().getFirst());
      for (int kill = 0; kill < 3; kill++) {
        List<Long> before = serve.workerPids();
        ProcessHandle.of(before.getFirst()).orElseThrow().destroyForcibly();
        Await.until("a replacement", Duration.ofSeconds(30), () -> {
          List<Long> now = serve.workerPids();
          return now.getFirst() != 0 && !now.getFirst().equals(before.getFirst());
        });
      }
      // The supervisor removes a dead worker's socket once it has seen it exit.
      Await.until("the pool directory to hold only the live workers' sockets", Duration.ofSeconds(10),
          () -> sockets(pool).size() == 2);
      List<String> live = new ArrayList<>();
      for (long pid : serve.workerPids()) {
        live.add(socketOf(pid).getFileName().toString());
      }
      assertEquals(live.stream().sorted().toList(), sockets(pool).stream().sorted().toList());
      serve.shutdown();
      assertFalse(Files.exists(pool), "the pool's directory removed on shutdown");
    }
  }

  @Test
  void supervisorAndAWorkerKilledTogether_theLastWorkerOutRemovesTheDirectory() throws Exception {
    try (ServeProcess serve = serve()) {
      List<Long> workers = serve.workerPids();
      Path pool = poolDir(workers.getFirst());
      // The supervisor first, so that it cannot remove the killed worker's socket itself.
      kill9(serve.pid(), workers.getFirst());
      assertTrue(serve.process().waitFor(10, TimeUnit.SECONDS));
      awaitExit(workers.get(1)); // it exits by itself, its supervisor gone
      Await.until("the pool's directory, with the killed worker's socket, to be removed", Duration.ofSeconds(10),
          () -> !Files.exists(pool));
    }
  }

  @Test
  void everythingKilledAtOnce_theNextStartRemovesTheDirectory() throws Exception {
    Path stranded;
    try (ServeProcess crashed = serve()) {
      List<Long> workers = crashed.workerPids();
      stranded = poolDir(workers.getFirst());
      kill9(crashed.pid(), workers.get(0), workers.get(1));
      assertTrue(crashed.process().waitFor(10, TimeUnit.SECONDS));
      for (long pid : workers) {
        awaitExit(pid);
      }
    }
    assertEquals(2, sockets(stranded).size(), "nobody was left to clean up: " + stranded);

    try (ServeProcess next = serve()) {
      assertFalse(Files.exists(stranded), "the next pool to start removed " + stranded);
      assertTrue(Files.exists(poolDir(next.workerPids().getFirst())));
      next.shutdown();
    }
    try (Stream<Path> left = Files.list(tmp())) {
      List<Path> pools = left.filter(p -> p.getFileName().toString().startsWith("offload-pool-")).toList();
      assertEquals(List.of(), pools, "no pool directory outlives its pool");
    }
  }

  private static void awaitExit(long pid) throws Exception {
    var process = ProcessHandle.of(pid);
    if (process.isPresent()) {
      process.get().onExit().get(10, TimeUnit.SECONDS);
    }
  }

  /** One {@code kill -9} for all of them, in this order. */
  private static void kill9(long... pids) throws Exception {
    List<String> command = new ArrayList<>(List.of("kill", "-KILL"));
    for (long pid : pids) {
      command.add(Long.toString(pid));
    }
    Process kill = new ProcessBuilder(command).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -9 failed");
  }

  private static List<String> sockets(Path pool) {
    try (Stream<Path> files = Files.list(pool)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sock")).toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The pool's private directory: where the worker's socket is. */
  private static Path poolDir(long workerPid) throws IOException {
    return socketOf(workerPid).getParent();
  }

  /**
   * A worker's socket, from its command line. Read from /proc, as ProcessHandle.Info gives no
   * arguments for a command line as long as a worker's.
   */
  private static Path socketOf(long workerPid) throws IOException {
    String option = "-Doffload.worker.socket=";
    String[] args = Files.readString(Path.of("/proc", String.valueOf(workerPid), "cmdline")).split("\0");
    return java.util.Arrays.stream(args).filter(a -> a.startsWith(option))
        .map(a -> Path.of(a.substring(option.length())))
        .findFirst().orElseThrow();
  }
}
