package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offload.proto.v1.DescribeWorkerRequest;
import dev.offload.proto.v1.WorkerGrpc;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.wire.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker's socket lets in only the supervisor that started it: here {@code offload serve} runs
 * as a child of the test JVM, so the test JVM is a process of the same user that can reach the
 * socket and is not the workers' supervisor.
 */
@ExtendWith(NoLeftoverProcesses.class)
class WorkerPeerIT {

  @TempDir Path dir;

  @Test
  void callFromAProcessThatIsNotTheSupervisor_isRefusedAndLogged() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1")) {
      long worker = serve.workerPids().getFirst();

      assertEquals(Status.Code.UNAVAILABLE, describe(socketOf(worker)));

      String refusal = "refused a connection from pid " + ProcessHandle.current().pid();
      Await.until("the worker's log saying it refused the test JVM", Duration.ofSeconds(10),
          () -> workerLogs(dir.resolve("state").resolve("workers")).contains(refusal));
      Cli.Result r = Cli.run("run", "echo", "1", "--server", serve.target());
      assertEquals(0, r.exitCode(), "the supervisor still gets in: " + r.err());
      serve.shutdown();
    }
  }

  /** The Unix socket a worker serves on, from its command line. */
  private static Path socketOf(long pid) throws IOException {
    String prefix = "-Doffload.worker.socket=";
    return Arrays.stream(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).split("\0"))
        .filter(arg -> arg.startsWith(prefix))
        .map(arg -> Path.of(arg.substring(prefix.length())))
        .findFirst().orElseThrow();
  }

  /** Calls DescribeWorker on a worker's socket from this JVM; the status it fails with. */
  private static Status.Code describe(Path socket) throws InterruptedException {
    EventLoopGroup group = UnixSockets.newEventLoopGroup(1, "test-io");
    ManagedChannel channel = UnixSockets.channelBuilder(socket, group).build();
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> WorkerGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS).describeWorker(DescribeWorkerRequest.getDefaultInstance()));
      return e.getStatus().getCode();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static String workerLogs(Path dir) {
    try (Stream<Path> logs = Files.list(dir)) {
      StringBuilder all = new StringBuilder();
      for (Path log : logs.filter(f -> f.toString().endsWith(".log")).toList()) {
        all.append(Files.readString(log));
      }
      return all.toString();
    } catch (IOException e) {
      return "";
    }
  }
}
