package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.wire.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pool whose surroundings fail it, against {@code serve} processes: a state directory where no
 * worker log can be created must not cost workers, and a pool down to no ready worker must say so
 * in {@code stats} and in the health of {@code offload.v1.Offload}.
 */
@ExtendWith(NoLeftoverProcesses.class)
class DegradedPoolIT {

  @TempDir Path dir;

  @Test
  void workerLogsThatCannotBeCreated_replacementsStillStart_loggingToServesStderr() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      // The workers' log directory becomes a regular file: no log can be made in it, as when the
      // disk is out of inodes (and unlike a permission, this stops root too).
      Path logs = dir.resolve("state").resolve("workers");
      Files.move(logs, dir.resolve("old-logs"));
      Files.writeString(logs, "not a directory");

      for (int kill = 0; kill < 2; kill++) {
        long before = serve.workerPids().getFirst();
        ProcessHandle.of(before).orElseThrow().destroyForcibly();
        Await.until("a replacement worker, though it has no log file", Duration.ofSeconds(30), () -> {
          long now = serve.workerPids().getFirst();
          return now != 0 && now != before;
        });
      }
      Cli.Result run = Cli.run("run", "echo", "[1,2]", "--server", serve.target());
      assertEquals(0, run.exitCode(), run.err());
      assertEquals("[1,2]", run.out().strip());

      long last = serve.workerPids().getFirst();
      serve.shutdown();
      String stderr = serve.stderr();
      assertEquals(1, stderr.split("cannot create worker logs in " + logs, -1).length - 1,
          "warned once, not per worker:\n" + stderr);
      assertTrue(stderr.contains(logs + " is not a directory"), "the warning says why:\n" + stderr);
      assertTrue(stderr.contains("worker " + last + " exits"), "the worker's own lines went to serve's stderr:\n" + stderr);
    }
  }

  /**
   * A serve of one worker that loads a plugin jar (a library: no handlers of its own); taking the
   * jar away and killing the worker leaves the pool with no worker, as no replacement can start.
   */
  private ServeProcess serveWithAJarToTakeAway(Path jar) throws Exception {
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      out.putNextEntry(new JarEntry("lib/Nothing.txt"));
      out.write("a library".getBytes());
    }
    return ServeProcess.start(dir, List.of(), "--workers", "1", "--handlers", jar.toString());
  }

  private static Path failReplacements(ServeProcess serve, Path jar) throws Exception {
    Path away = Files.move(jar, jar.resolveSibling("lib.jar.away"));
    ProcessHandle.of(serve.workerPids().getFirst()).orElseThrow().destroyForcibly();
    Await.until("a failed start to be the last restart reason", Duration.ofSeconds(30),
        () -> serve.stats().get("workers").get(0).get("last_restart_reason").asText().contains("refused to start"));
    return away;
  }

  @Test
  void noWorkerReady_offloadIsNotServing_untilOneIs_whileTheServiceAsAWholeServes() throws Exception {
    Path jar = dir.resolve("lib.jar");
    EventLoopGroup group = UnixSockets.newEventLoopGroup(1, "test-health");
    try (ServeProcess serve = serveWithAJarToTakeAway(jar)) {
      ManagedChannel channel = UnixSockets.channelBuilder(serve.socket(), group).build();
      try {
        assertEquals(ServingStatus.SERVING, health(channel, OffloadGrpc.SERVICE_NAME));

        Path away = failReplacements(serve, jar);
        assertEquals(ServingStatus.NOT_SERVING, health(channel, OffloadGrpc.SERVICE_NAME));
        assertEquals(ServingStatus.SERVING, health(channel, ""), "the service as a whole serves on until shutdown");

        Files.move(away, jar); // the next retry (backoff: seconds) starts a worker
        Await.until("offload.v1.Offload to be SERVING again", Duration.ofSeconds(60),
            () -> health(channel, OffloadGrpc.SERVICE_NAME) == ServingStatus.SERVING);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      serve.shutdown();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void noWorkerReady_statsSaySo_inTextAndJson() throws Exception {
    Path jar = dir.resolve("lib.jar");
    try (ServeProcess serve = serveWithAJarToTakeAway(jar)) {
      Path away = failReplacements(serve, jar);

      JsonNode stats = serve.stats();
      assertEquals(0, stats.path("ready_workers").asInt(-1), stats.toString());
      Cli.Result text = Cli.run("stats", "--server", serve.target());
      assertEquals(0, text.exitCode(), text.err());
      assertTrue(text.out().contains("workers 0 of 1 ready") && text.out().contains("NO WORKER IS READY"), text.out());

      Files.move(away, jar);
      Await.until("a worker again", Duration.ofSeconds(60), () -> serve.stats().path("ready_workers").asInt() == 1);
      assertTrue(Cli.run("stats", "--server", serve.target()).out().contains("workers 1 of 1 ready"));
      serve.shutdown();
    }
  }

  private static ServingStatus health(ManagedChannel channel, String service) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }
}
