package dev.offload.supervisor.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offload.wire.TokenHeader;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The token check lets a health Check through without the token (a Kubernetes grpc probe cannot
 * send one) and refuses every other call without it: the health Watch stream, reflection.
 */
class TokenCheckTest {

  private static final String TOKEN = "a-token-of-at-least-22-characters";

  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    String name = "token-check-" + System.nanoTime();
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus("offload.v1.Offload", HealthCheckResponse.ServingStatus.SERVING);
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .intercept(new TokenCheck(TOKEN))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void healthCheck_withoutToken_answers() {
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);

    assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING,
        health.check(HealthCheckRequest.newBuilder().setService("offload.v1.Offload").build()).getStatus());
  }

  @Test
  void healthWatch_withoutToken_isUnauthenticated() {
    var stream = HealthGrpc.newBlockingStub(channel).watch(HealthCheckRequest.getDefaultInstance());

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, stream::hasNext);
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
  }

  @Test
  void healthWatch_withToken_answers() {
    var stream = HealthGrpc.newBlockingStub(channel).withInterceptors(tokenHeader(TOKEN)).watch(HealthCheckRequest.getDefaultInstance());

    assertEquals(HealthCheckResponse.ServingStatus.SERVING, stream.next().getStatus());
  }

  @Test
  void reflection_withoutTokenOrWithAWrongOne_isUnauthenticated() throws Exception {
    assertEquals(Status.Code.UNAUTHENTICATED, listServices(ServerReflectionGrpc.newStub(channel)).getCode());
    assertEquals(Status.Code.UNAUTHENTICATED,
        listServices(ServerReflectionGrpc.newStub(channel).withInterceptors(tokenHeader("not-" + TOKEN))).getCode());
  }

  @Test
  void reflection_withToken_answers() throws Exception {
    assertEquals(Status.Code.OK, listServices(ServerReflectionGrpc.newStub(channel).withInterceptors(tokenHeader(TOKEN))).getCode());
  }

  /** Asks reflection for the list of services; the status the call ended with. */
  private static Status listServices(ServerReflectionGrpc.ServerReflectionStub stub) throws Exception {
    CompletableFuture<Status> ended = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = stub.serverReflectionInfo(new StreamObserver<>() {
      @Override public void onNext(io.grpc.reflection.v1.ServerReflectionResponse response) { }
      @Override public void onError(Throwable t) { ended.complete(Status.fromThrowable(t)); }
      @Override public void onCompleted() { ended.complete(Status.OK); }
    });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();
    return ended.get(5, TimeUnit.SECONDS);
  }

  private static io.grpc.ClientInterceptor tokenHeader(String token) {
    Metadata headers = new Metadata();
    headers.put(TokenHeader.KEY, TokenHeader.value(token));
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }
}
