package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WatchJobRequest;
import dev.offload.client.BatchCall;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.wire.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every limit of a service, hit on purpose: each answers with a clear status and a message that
 * names the flag, and the service goes on serving.
 */
@ExtendWith(NoLeftoverProcesses.class)
class LimitsIT {

  private static final int MAX_INPUT = 4 << 10;
  private static final int MAX_REQUEST = MAX_INPUT + Limits.REQUEST_OVERHEAD_BYTES + 1024;
  private static final int MAX_OUTPUT = 1 << 10;
  private static final int KEEP_FINISHED = 3;
  private static final int MAX_WATCHERS = 2;
  private static final int MAX_STREAMS = 3;

  @TempDir static Path dir;
  static RunningService service;
  static EventLoopGroup group;
  static ManagedChannel channel;
  private final List<String> toCancel = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(1)
        .withPool(RunningService.pool(1).maxOutputBytes(MAX_OUTPUT).build())
        .withKeepFinished(KEEP_FINISHED)
        .withLimits(new Limits(MAX_REQUEST, MAX_INPUT, MAX_WATCHERS, MAX_STREAMS, Limits.DEFAULT_MAX_RETRIES,
            Limits.defaultMaxPendingBytes())), dir);
    group = UnixSockets.newEventLoopGroup(1, "test-io");
  }

  @AfterAll
  static void stop() throws Exception {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    service.close();
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      channel = null;
    }
    toCancel.forEach(id -> service.client().wire().cancel(id));
  }

  @Test
  void inputOverTheLimit_invalidArgumentNamingTheFlag() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(echo(MAX_INPUT + 10)));

    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("--max-input-size"), e.getStatus().getDescription());
    assertStillServing();
  }

  @Test
  void requestOverTheLimit_resourceExhaustedNamingTheFlag() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(echo(MAX_REQUEST + 10)));

    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains("--max-request-size"), e.getStatus().getDescription());
    assertStillServing();
  }

  @Test
  void batchLimits_areTheFirstResultWhenAsked_andNeverSentUnasked() throws Exception {
    BatchRequest echo = BatchRequest.newBuilder().setKey("job").setJob(echo(10)).build();

    List<BatchResult> asked = rawBatch(BatchRequest.newBuilder().setKey("limits").setSendLimits(true).build(), echo);
    assertEquals(2, asked.size(), asked.toString());
    assertEquals("limits", asked.getFirst().getKey());
    assertEquals(MAX_REQUEST, asked.getFirst().getLimits().getMaxRequestBytes());
    assertEquals(MAX_INPUT, asked.getFirst().getLimits().getMaxInputBytes());
    assertEquals(JobState.SUCCEEDED, asked.getLast().getJob().getState());

    // A client written before the limits existed (or grpcurl, not asking) gets its jobs' results only.
    List<BatchResult> unasked = rawBatch(echo);
    assertEquals(1, unasked.size(), unasked.toString());
    assertEquals(JobState.SUCCEEDED, unasked.getFirst().getJob().getState());
  }

  @Test
  void batchCall_refusesAJobOverTheRequestLimit_namingTheFlag_andTheStreamGoesOn() throws Exception {
    List<BatchResult> results = new CopyOnWriteArrayList<>();
    BatchCall call = service.client().wire().batch(4, results::add);

    String refusal = call.refusal("large", echo(MAX_REQUEST + 10));
    assertTrue(refusal != null && refusal.contains("--max-request-size"), refusal);
    assertThrows(IllegalArgumentException.class, () -> call.send("large", echo(MAX_REQUEST + 10)));
    assertNull(call.refusal("small", echo(10)));
    call.acquire();
    call.send("small", echo(10));
    call.finish();
    call.await();

    assertEquals(1, results.size(), results.toString());
    assertEquals(JobState.SUCCEEDED, results.getFirst().getJob().getState());
  }

  /** Sends these requests on a stream of its own, as any gRPC client would, and returns every result. */
  private List<BatchResult> rawBatch(BatchRequest... requests) throws Exception {
    if (channel == null) {
      channel = UnixSockets.channelBuilder(dir.resolve("offload.sock"), group).build();
    }
    List<BatchResult> results = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> end = new CompletableFuture<>();
    StreamObserver<BatchRequest> stream = OffloadGrpc.newStub(channel).runBatch(new StreamObserver<>() {
      @Override
      public void onNext(BatchResult result) {
        results.add(result);
      }

      @Override
      public void onError(Throwable t) {
        end.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        end.complete(null);
      }
    });
    for (BatchRequest request : requests) {
      stream.onNext(request);
    }
    stream.onCompleted();
    end.get(30, TimeUnit.SECONDS);
    return results;
  }

  @Test
  void outputOverTheLimit_jobFailsOutputTooLarge_andTheWorkerGoesOn() throws Exception {
    Job end = runToEnd(echo(MAX_OUTPUT + 10));

    assertEquals(JobState.FAILED, end.getState());
    assertEquals("OUTPUT_TOO_LARGE", end.getError().getCode());
    assertTrue(end.getError().getMessage().contains("--max-output-size"), end.getError().getMessage());
    assertEquals(JobState.SUCCEEDED, runToEnd(echo(10)).getState());
  }

  @Test
  void finishedJobsBeyondTheLimit_expireOldestFirst() throws Exception {
    List<Job> jobs = new ArrayList<>();
    for (int i = 0; i < KEEP_FINISHED + 2; i++) {
      jobs.add(runToEnd(echo(10)));
    }

    for (Job expired : jobs.subList(0, 2)) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().get(expired.getId()));
      assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains("--keep-finished"), e.getStatus().getDescription());
    }
    assertEquals(JobState.SUCCEEDED, service.client().wire().get(jobs.getLast().getId()).getState());
  }

  @Test
  void watchersBeyondTheLimit_resourceExhaustedNamingTheFlag() throws Exception {
    Job job = submitHeld();
    for (int i = 0; i < MAX_WATCHERS; i++) {
      watchUntilFirstEvent(job.getId());
    }

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().watch(job.getId(), ev -> {}));

    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("--max-watchers-per-job"), e.getStatus().getDescription());
    assertStillServing();
  }

  @Test
  void streamsBeyondTheLimit_resourceExhaustedNamingTheFlag() throws Exception {
    for (int i = 0; i < MAX_STREAMS; i++) {
      watchUntilFirstEvent(submitHeld().getId());
    }
    Job another = submitHeld();

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().watch(another.getId(), ev -> {}));

    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("--max-streams"), e.getStatus().getDescription());
    assertStillServing();
  }

  /**
   * Submits a job and polls until it ends: unary calls only, so that no test depends on another's
   * streams having been released.
   */
  private static Job runToEnd(SubmitJobRequest request) throws InterruptedException {
    String id = service.client().wire().submit(request).getId();
    Await.until(id + " to end", Duration.ofSeconds(30), () -> dev.offload.supervisor.job.Job.isTerminal(service.client().wire().get(id).getState()));
    return service.client().wire().get(id);
  }

  /** A job that stays unfinished for the test: a long sleep, running or queued behind one. */
  private Job submitHeld() {
    Job job = service.client().wire().submit(SubmitJobRequest.newBuilder().setHandler("sleep").setInputJson("{\"ms\": 60000}").build());
    toCancel.add(job.getId());
    return job;
  }

  /** Opens a watch on its own channel and returns once the service has sent the job's record. */
  private void watchUntilFirstEvent(String jobId) throws Exception {
    if (channel == null) {
      channel = UnixSockets.channelBuilder(dir.resolve("offload.sock"), group).build();
    }
    CompletableFuture<JobEvent> first = new CompletableFuture<>();
    OffloadGrpc.newStub(channel).watchJob(WatchJobRequest.newBuilder().setJobId(jobId).build(), new StreamObserver<>() {
      @Override
      public void onNext(JobEvent event) {
        first.complete(event);
      }

      @Override
      public void onError(Throwable t) {
        first.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    first.get(10, TimeUnit.SECONDS);
  }

  /**
   * The service answers and takes jobs (unary calls only: the stream limit may be reached, and
   * the one worker may be held by a long job).
   */
  private void assertStillServing() {
    assertEquals(1, service.client().wire().poolStatus().getWorkersCount());
    Job accepted = service.client().wire().submit(echo(10));
    toCancel.add(accepted.getId());
    assertTrue(accepted.getState() == JobState.QUEUED || accepted.getState() == JobState.RUNNING, accepted.toString());
  }

  /** An echo job whose input JSON (a string) is {@code bytes} long. */
  private static SubmitJobRequest echo(int bytes) {
    return SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("\"" + "x".repeat(bytes - 2) + "\"").build();
  }
}
