package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.GetPoolStatusRequest;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.wire.UnixSockets;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a Kubernetes grpc probe sees of a service with a token: {@code serve --health HOST:PORT}
 * answers health checks in plaintext without the token (and nothing else), and the service's own
 * listener answers a health Check without the token while refusing every other call without it.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ServeHealthIT {

  @TempDir Path dir;

  @Test
  void serveWithToken_healthAnswersWithoutIt_elseNothingDoes() throws Exception {
    Path token = Files.writeString(dir.resolve("token"), "a-token-of-at-least-22-characters\n");
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
    String health = ServeProcess.freeLoopbackAddress();
    int healthPort = Integer.parseInt(health.substring(health.lastIndexOf(':') + 1));

    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1", "--token-file", token.toString(), "--health", health)) {
      ManagedChannel healthOnly = Grpc.newChannelBuilderForAddress("127.0.0.1", healthPort, InsecureChannelCredentials.create()).build();
      EventLoopGroup group = UnixSockets.newEventLoopGroup(1, "health-test");
      ManagedChannel main = UnixSockets.channelBuilder(serve.socket(), group).build();
      try {
        assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(healthOnly)
            .check(HealthCheckRequest.newBuilder().setService(OffloadGrpc.SERVICE_NAME).build()).getStatus());
        assertEquals(Status.Code.UNIMPLEMENTED, assertThrows(StatusRuntimeException.class,
            () -> OffloadGrpc.newBlockingStub(healthOnly).getPoolStatus(GetPoolStatusRequest.getDefaultInstance())).getStatus().getCode());

        assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(main).check(HealthCheckRequest.getDefaultInstance()).getStatus());
        assertEquals(Status.Code.UNAUTHENTICATED, assertThrows(StatusRuntimeException.class,
            () -> OffloadGrpc.newBlockingStub(main).getPoolStatus(GetPoolStatusRequest.getDefaultInstance())).getStatus().getCode());
      } finally {
        healthOnly.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        main.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
      }
      Cli.Result stats = Cli.run("stats", "--server", serve.target());
      assertEquals(2, stats.exitCode(), stats.err());

      serve.shutdown("--token-file", token.toString());
      // Read once serve has ended: its start returns at "serving on", a line before this one.
      assertTrue(serve.stderrContains("health checks (plaintext, no token) on " + health), serve.stderr());
    }
  }
}
