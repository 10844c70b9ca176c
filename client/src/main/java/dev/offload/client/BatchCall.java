package dev.offload.client;

import dev.offload.proto.v1.BatchLimits;
import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.SubmitJobRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * One {@code RunBatch} stream from the client's side: many jobs over one call, with a window of
 * at most {@code maxInFlight} jobs outstanding. {@link #acquire} blocks while the window is full;
 * the caller gives a slot back with {@link #release} once it is done with a result (so a caller
 * that must hold results back, to write them in order, keeps its memory bounded by the window).
 *
 * <p>The call's first message asks the service for its limits, so that a job the service could
 * not read is refused here ({@link #refusal}) instead of ending the stream, and every other job's
 * result with it; it also carries the stream's settings (whether jobs are acknowledged).
 *
 * <p>Once the call has ended, however it ended, nothing waits on it any more: {@link #acquire}
 * throws, and jobs sent are dropped. Results are handed to the consumer on a gRPC thread, one at
 * a time.
 */
public final class BatchCall {

  /** The key of the call's first message, which asks for the service's limits and runs no job. */
  private static final String LIMITS_KEY = "";

  private final Semaphore window;
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  /** The service's limits; null from a service too old to send them, or if the call ended first. */
  private final CompletableFuture<BatchLimits> limits = new CompletableFuture<>();
  private final ClientCallStreamObserver<BatchRequest> requests;
  /** Whether this side has cancelled or half-closed the call; guarded by {@link #requests}. */
  private boolean closed;

  BatchCall(OffloadGrpc.OffloadStub stub, int maxInFlight, boolean acknowledge, Consumer<BatchResult> onResult) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("a batch needs room for at least 1 job in flight, got " + maxInFlight);
    }
    this.window = new Semaphore(maxInFlight);
    RequestsHolder holder = new RequestsHolder();
    stub.runBatch(new ClientResponseObserver<BatchRequest, BatchResult>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<BatchRequest> stream) {
        holder.stream = stream;
      }

      @Override
      public void onNext(BatchResult result) {
        if (result.hasLimits()) {
          limits.complete(result.getLimits());
          return;
        }
        // The service answers the limits request before it reads the next message, so the first
        // answer of a service that does not know the request is its refusal of a job without a
        // handler; it is the only result with no job behind it.
        if (!limits.isDone() && result.hasRejected() && result.getKey().equals(LIMITS_KEY)) {
          limits.complete(null);
          return;
        }
        onResult.accept(result);
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
        ended();
      }

      @Override
      public void onCompleted() {
        done.complete(null);
        ended();
      }
    });
    this.requests = holder.stream;
    // The stream's settings travel on its first message: the service reads acknowledge there only.
    requests.onNext(BatchRequest.newBuilder().setKey(LIMITS_KEY).setSendLimits(true).setAcknowledge(acknowledge).build());
  }

  /** Wakes whoever waits on the call: for its limits, or for a slot of a window that no result will free. */
  private void ended() {
    limits.complete(null);
    window.release();
  }

  /**
   * Takes a slot of the window, waiting while it is full; every slot taken is released once.
   *
   * @throws StatusRuntimeException if the call has ended (failed, been cancelled, or completed),
   *     with the status it ended with: no slot will come free
   * @throws InterruptedException if the thread was interrupted while waiting for a slot
   */
  public void acquire() throws InterruptedException {
    window.acquire();
    if (done.isDone()) {
      window.release(); // passes the wake-up on to the next waiter
      throw endStatus().asRuntimeException();
    }
  }

  /**
   * Why the service could not read this job, or null if it can: a message larger than the
   * service's request limit would end the whole stream, so such a job must not be sent. The reason
   * names the {@code serve} flag that raises the limit. Waits for the service's limits, which its
   * first answer carries; null when it sends none (a service older than {@link BatchLimits}) or
   * the call has ended.
   *
   * @param key the job's key in the batch
   * @param job the job
   * @return why the service could not read it, or null if it can
   * @throws InterruptedException if the thread was interrupted while waiting for the limits
   */
  public String refusal(String key, SubmitJobRequest job) throws InterruptedException {
    try {
      limits.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("the limits are never completed exceptionally", e);
    }
    return refusal(request(key, job));
  }

  private String refusal(BatchRequest request) {
    BatchLimits known = limits.getNow(null);
    if (known == null || request.getSerializedSize() <= known.getMaxRequestBytes()) {
      return null;
    }
    return "the job is " + request.getSerializedSize() + " bytes as sent, more than the " + known.getMaxRequestBytes()
        + " bytes the service reads in one request; start the service with a larger --max-request-size (and"
        + " --max-input-size, now " + known.getMaxInputBytes() + " bytes), or pass a file's path instead of its contents";
  }

  /**
   * Sends a job; the caller has taken a slot for it with {@link #acquire}. After the call has
   * ended the job is dropped: {@link #await} tells why the call ended.
   *
   * @param key the job's key, echoed in its result
   * @param job the job
   * @throws IllegalArgumentException if the service could not read the job, by the limits it has
   *     sent so far (see {@link #refusal}); nothing is sent
   */
  public void send(String key, SubmitJobRequest job) {
    BatchRequest request = request(key, job);
    String refusal = refusal(request);
    if (refusal != null) {
      throw new IllegalArgumentException(refusal);
    }
    synchronized (requests) {
      if (!closed) {
        requests.onNext(request);
      }
    }
  }

  private static BatchRequest request(String key, SubmitJobRequest job) {
    return BatchRequest.newBuilder().setKey(key).setJob(job).build();
  }

  /** Gives a slot back. */
  public void release() {
    window.release();
  }

  /** No more jobs: the stream ends once every result has come. */
  public void finish() {
    synchronized (requests) {
      if (!closed) {
        closed = true;
        requests.onCompleted();
      }
    }
  }

  /**
   * Cancels the call; the service cancels every job of the batch that has not ended.
   *
   * @param why the reason, for the call's status
   */
  public void cancel(String why) {
    // A gRPC call takes one caller at a time; cancels come from signal and result threads.
    synchronized (requests) {
      closed = true;
      requests.cancel(why, null);
    }
  }

  /**
   * Waits until the last result has come.
   *
   * @throws StatusRuntimeException if the call failed or was cancelled, with the status and
   *     trailers it ended with (a service that stopped with jobs of the batch left queued says so
   *     in its trailers: {@code dev.offload.wire.RefusalTrailers#KEPT_QUEUED})
   * @throws InterruptedException if the thread was interrupted while waiting
   */
  public void await() throws InterruptedException {
    try {
      done.get();
    } catch (ExecutionException e) {
      throw Status.fromThrowable(e.getCause()).asRuntimeException(Status.trailersFromThrowable(e.getCause()));
    }
  }

  /**
   * Whether the call has ended, however it ended.
   *
   * @return true once the last result has come or the call has failed
   */
  public boolean isDone() {
    return done.isDone();
  }

  /** How the call ended, for a caller that wanted another slot. */
  private Status endStatus() {
    if (done.isCompletedExceptionally()) {
      return Status.fromThrowable(done.exceptionNow());
    }
    return Status.FAILED_PRECONDITION.withDescription("the batch call has ended: every job sent was answered, and it takes no more");
  }

  private static final class RequestsHolder {
    ClientCallStreamObserver<BatchRequest> stream;
  }
}
