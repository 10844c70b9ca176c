package dev.offload.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.client.ServerTarget;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A batch call against services that misbehave or are older than it: nothing that waits on the
 * call waits past its end, and a service that sends no limits still runs the batch.
 */
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

  /**
   * A service from before BatchLimits: it takes the limits request for a job without a handler and
   * rejects it, and echoes every job it is sent.
   */
  private static class OlderService extends OffloadGrpc.OffloadImplBase {
    @Override
    public StreamObserver<BatchRequest> runBatch(StreamObserver<BatchResult> results) {
      return new StreamObserver<>() {
        @Override
        public void onNext(BatchRequest request) {
          var result = BatchResult.newBuilder().setKey(request.getKey());
          if (request.getJob().getHandler().isEmpty()) {
            result.setRejected(JobError.newBuilder().setCode("INVALID_ARGUMENT").setMessage("a job needs a handler"));
          } else {
            result.setJob(Job.newBuilder().setState(JobState.SUCCEEDED).setOutputJson(request.getJob().getInputJson()));
          }
          results.onNext(result.build());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          results.onCompleted();
        }
      };
    }
  }

  private void serve(OffloadGrpc.OffloadImplBase service) throws Exception {
    String name = "batch-call-test-" + UUID.randomUUID();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    client = OffloadClient.over(InProcessChannelBuilder.forName(name).build());
  }

  @AfterEach
  void stop() throws InterruptedException {
    client.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void acquire_whenTheStreamFailsWithTheWindowFull_throwsTheStatusInsteadOfWaitingForever() throws Exception {
    serve(new FailingAtTheFirstJob());
    // A hang guard: on failure the call ends within milliseconds, so 10 s only bounds a regression.
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      BatchCall call = client.wire().batch(1, result -> {});
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

  @Test
  void aServiceThatSendsNoLimits_refusesNothing_andItsAnswerToTheRequestIsNoResult() throws Exception {
    serve(new OlderService());
    List<BatchResult> results = new CopyOnWriteArrayList<>();
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      BatchCall call = client.wire().batch(4, results::add);

      assertNull(call.refusal("1", SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("\"" + "x".repeat(1 << 20) + "\"").build()));
      call.acquire();
      call.send("1", SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("7").build());
      call.finish();
      call.await();
    });

    assertEquals(1, results.size(), results.toString());
    assertEquals("1", results.getFirst().getKey());
    assertEquals("7", results.getFirst().getJob().getOutputJson());
  }

  @Test
  void acknowledge_travelsOnTheStreamsFirstMessage_only() throws Exception {
    List<BatchRequest> received = new CopyOnWriteArrayList<>();
    serve(new OlderService() {
      @Override
      public StreamObserver<BatchRequest> runBatch(StreamObserver<BatchResult> results) {
        StreamObserver<BatchRequest> older = super.runBatch(results);
        return new StreamObserver<>() {
          @Override
          public void onNext(BatchRequest request) {
            received.add(request);
            older.onNext(request);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            older.onCompleted();
          }
        };
      }
    });
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      BatchCall call = client.wire().batch(4, true, result -> {});
      call.acquire();
      call.send("1", SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("7").build());
      call.finish();
      call.await();
    });

    assertEquals(2, received.size(), received.toString());
    assertTrue(received.get(0).getSendLimits() && received.get(0).getAcknowledge(), "a setting of the stream: " + received.get(0));
    assertFalse(received.get(1).getAcknowledge(), "not repeated per job: " + received.get(1));
  }
}
