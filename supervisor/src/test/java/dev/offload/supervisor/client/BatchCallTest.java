package dev.offload.supervisor.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.server.ServerTarget;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A batch call whose service fails the stream: nothing that waits on the call waits past its end. */
class BatchCallTest {

  private Server server;
  private OffloadClient client;

  /**
   * A service that answers no job and fails the stream when the first job arrives, as a service
   * that dies with a full window does.
   */
  private static final class FailingAtTheFirstJob extends OffloadGrpc.OffloadImplBase {
    @Override
    public StreamObserver<BatchRequest> runBatch(StreamObserver<BatchResult> results) {
      return new StreamObserver<>() {
        @Override
        public void onNext(BatchRequest request) {
          if (request.hasJob()) {
            results.onError(Status.UNAVAILABLE.withDescription("the service is gone").asRuntimeException());
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }

  @BeforeEach
  void start() throws Exception {
    String name = "batch-call-test-" + UUID.randomUUID();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(new FailingAtTheFirstJob()).build().start();
    client = OffloadClient.connect(new ServerTarget.InProcess(name));
  }

  @AfterEach
  void stop() throws InterruptedException {
    client.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void acquire_whenTheStreamFailsWithTheWindowFull_throwsTheStatusInsteadOfWaitingForever() {
    // A hang guard: on failure the call ends within milliseconds, so 10 s only bounds a regression.
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      BatchCall call = client.batch(1, result -> {});
      call.acquire();
      call.send("1", SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("1").build());

      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::acquire);

      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertEquals("the service is gone", e.getStatus().getDescription());
      // Every later waiter is woken too, and await reports the same end.
      assertThrows(StatusRuntimeException.class, call::acquire);
      assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class, call::await).getStatus().getCode());
    });
  }
}
