package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.wire.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** What grpcurl, grpcui and load balancers see: the standard health service and reflection. */
@ExtendWith(NoLeftoverProcesses.class)
class HealthAndReflectionIT {

  @TempDir Path dir;
  RunningService service;
  EventLoopGroup group;
  ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    service = RunningService.start(RunningService.config(1), dir);
    group = UnixSockets.newEventLoopGroup(1, "test-io");
    channel = UnixSockets.channelBuilder(dir.resolve("offload.sock"), group).build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    service.close();
  }

  @Test
  void health_servingWhileUp_notServingOnceShutdownBegins() throws Exception {
    assertEquals(ServingStatus.SERVING, status(""));
    assertEquals(ServingStatus.SERVING, status(OffloadGrpc.SERVICE_NAME));

    service.supervisor().shutdown(Duration.ofSeconds(30));

    Await.until("health to say NOT_SERVING", Duration.ofSeconds(10), () -> status(OffloadGrpc.SERVICE_NAME) == ServingStatus.NOT_SERVING);
    assertEquals(ServingStatus.NOT_SERVING, status(""));
  }

  @Test
  void reflection_listsOffloadAndHealth() throws Exception {
    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel).serverReflectionInfo(new StreamObserver<>() {
      @Override
      public void onNext(ServerReflectionResponse response) {
        answer.complete(response);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();

    List<String> names = answer.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
        .map(ServiceResponse::getName).toList();
    assertTrue(names.contains(OffloadGrpc.SERVICE_NAME), names.toString());
    assertTrue(names.contains(HealthGrpc.SERVICE_NAME), names.toString());
  }

  private ServingStatus status(String serviceName) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(serviceName).build()).getStatus();
  }
}
