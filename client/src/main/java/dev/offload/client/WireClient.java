package dev.offload.client;

import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.CancelJobRequest;
import dev.offload.proto.v1.GetJobRequest;
import dev.offload.proto.v1.GetPoolStatusRequest;
import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.HandlerInfo;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.ListHandlersRequest;
import dev.offload.proto.v1.ListJobsRequest;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.ShutdownRequest;
import dev.offload.proto.v1.ShutdownResponse;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WatchJobRequest;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The wire-level view of an {@link OffloadClient}: the service's rpcs with their protobuf
 * messages ({@code offload/v1/offload.proto}) in and out, every field and state included. It is
 * for tools that show everything the service knows, as the {@code offload} CLI does; an
 * application submits jobs through {@link Offloader} instead, whose types do not change with the
 * protocol.
 *
 * <p>Calls block the calling thread (cheap on a virtual thread) and throw gRPC's {@link
 * io.grpc.StatusRuntimeException} with the service's status and message on failure; the protocol
 * documents the codes. Thread-safe. It shares its client's connection: closing the client ends
 * it.
 */
public final class WireClient {

  private final ManagedChannel channel;
  /** Whether results may be handled on the connection's own I/O thread (see {@link #batch}). */
  private final boolean ownIoThread;
  private final OffloadGrpc.OffloadBlockingStub stub;
  private final OffloadGrpc.OffloadStub asyncStub;

  WireClient(ManagedChannel channel, boolean ownIoThread, OffloadGrpc.OffloadBlockingStub stub, OffloadGrpc.OffloadStub asyncStub) {
    this.channel = channel;
    this.ownIoThread = ownIoThread;
    this.stub = stub;
    this.asyncStub = asyncStub;
  }

  /**
   * Queues a job and returns it as accepted.
   *
   * @param request the job, as the SubmitJob rpc takes it
   * @return the job's record, QUEUED (or already further along)
   */
  public Job submit(SubmitJobRequest request) {
    return stub.submitJob(request).getJob();
  }

  /**
   * Submits a job and waits for its end, passing every event to {@code onEvent} as it comes, on
   * this thread. Interrupting the thread ends the wait (the rpc fails CANCELLED) but, as the
   * RunJob rpc has it, not the job: cancel it with {@link #cancel}.
   *
   * @param request the job, as the RunJob rpc takes it
   * @param onEvent called with each event, the first (the QUEUED job) and the last (the terminal
   *     job) included
   * @return the job in its terminal state
   */
  public Job run(SubmitJobRequest request, Consumer<JobEvent> onEvent) {
    return lastJob(stub.runJob(request), onEvent);
  }

  /**
   * Waits for a job's end, passing every event to {@code onEvent} on this thread.
   *
   * @param jobId the job's id
   * @param onEvent called with each event
   * @return the job in its terminal state
   */
  public Job watch(String jobId, Consumer<JobEvent> onEvent) {
    return lastJob(stub.watchJob(WatchJobRequest.newBuilder().setJobId(jobId).build()), onEvent);
  }

  /**
   * Opens a batch stream: many jobs over one call, at most {@code maxInFlight} outstanding. Results
   * go to {@code onResult} as jobs end, one at a time.
   *
   * <p>Against a socket, {@code onResult} runs on the connection's own I/O thread: a hand-off to
   * another thread per result cost more than the rest of the client's work per job. It must not
   * wait for anything but its own output; a slow writer just slows the batch down. Over a channel
   * given to {@link OffloadClient#over} it runs on the channel's executor.
   *
   * @param maxInFlight the most jobs sent and not yet answered, at least 1
   * @param onResult called with each job's result
   * @return the open call
   */
  public BatchCall batch(int maxInFlight, Consumer<BatchResult> onResult) {
    return batch(maxInFlight, false, onResult);
  }

  /**
   * Opens a batch stream as {@link #batch(int, Consumer)} does, asking, if {@code acknowledge},
   * for an acknowledgement of each job: a result with {@link BatchResult#getAccepted()} (the job's
   * id) once the service has committed the job to its store, before the job's result. A client
   * that keeps those ids can fetch the results by id if the stream ends first (the service lost, or
   * stopped with the jobs left queued). A service older than the setting sends none.
   *
   * @param maxInFlight the most jobs sent and not yet answered, at least 1
   * @param acknowledge whether each job is acknowledged with its id
   * @param onResult called with each job's result, and with each acknowledgement
   * @return the open call
   */
  public BatchCall batch(int maxInFlight, boolean acknowledge, Consumer<BatchResult> onResult) {
    OffloadGrpc.OffloadStub batchStub = ownIoThread ? asyncStub.withExecutor(Runnable::run) : asyncStub;
    return new BatchCall(batchStub, maxInFlight, acknowledge, onResult);
  }

  /**
   * One job's current record.
   *
   * @param jobId the job's id
   * @return its record
   */
  public Job get(String jobId) {
    return stub.getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
  }

  /**
   * The jobs the service holds, oldest first.
   *
   * @param state only jobs in this state; null for all
   * @return their records
   */
  public List<Job> list(dev.offload.proto.v1.JobState state) {
    var request = ListJobsRequest.newBuilder();
    if (state != null) {
      request.setState(state);
    }
    return stub.listJobs(request.build()).getJobsList();
  }

  /**
   * Cancels a job (see the CancelJob rpc) and returns at once.
   *
   * @param jobId the job's id
   * @return its record after the request: CANCELLED if it was queued, still RUNNING while its
   *     worker is being stopped, or its terminal state if it had ended
   */
  public Job cancel(String jobId) {
    return stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build()).getJob();
  }

  /**
   * The workers, the queue and job counts.
   *
   * @return the service's answer
   */
  public GetPoolStatusResponse poolStatus() {
    return stub.getPoolStatus(GetPoolStatusRequest.getDefaultInstance());
  }

  /**
   * The handlers the service's workers can run.
   *
   * @return their names, descriptions and origins
   */
  public List<HandlerInfo> handlers() {
    return stub.listHandlers(ListHandlersRequest.getDefaultInstance()).getHandlersList();
  }

  /**
   * Asks the service to shut down, leaving its queued jobs queued for its next start if its store
   * keeps jobs, and returns at once.
   *
   * @param grace how long running jobs may take to finish; null for the service's default
   * @return how many jobs were running and queued when shutdown began
   */
  public ShutdownResponse shutdown(Duration grace) {
    return shutdown(grace, false);
  }

  /**
   * Asks the service to shut down, and returns at once.
   *
   * @param grace how long running jobs may take to finish; null for the service's default
   * @param cancelQueued cancel the queued jobs instead of leaving them queued in the store for the
   *     service's next start (a service that keeps nothing cancels them either way)
   * @return how many jobs were running and queued when shutdown began, and whether the queued
   *     ones stay queued
   */
  public ShutdownResponse shutdown(Duration grace, boolean cancelQueued) {
    return stub.shutdown(ShutdownRequest.newBuilder().setGraceMs(grace == null ? 0 : grace.toMillis())
        .setCancelQueued(cancelQueued).build());
  }

  /**
   * Waits until the connection to the service drops (the service has exited), at most {@code
   * limit}. Call it after a call has connected.
   *
   * @param limit how long to wait at most
   * @return true if the connection dropped within {@code limit}
   * @throws InterruptedException if the thread was interrupted while waiting
   */
  public boolean awaitDisconnect(Duration limit) throws InterruptedException {
    CompletableFuture<Void> dropped = new CompletableFuture<>();
    watchUntilDropped(channel.getState(false), dropped);
    try {
      dropped.get(limit.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private void watchUntilDropped(ConnectivityState state, CompletableFuture<Void> dropped) {
    if (state != ConnectivityState.READY && state != ConnectivityState.CONNECTING) {
      dropped.complete(null);
      return;
    }
    channel.notifyWhenStateChanged(state, () -> watchUntilDropped(channel.getState(false), dropped));
  }

  private static Job lastJob(Iterator<JobEvent> events, Consumer<JobEvent> onEvent) {
    Job last = null;
    while (events.hasNext()) {
      JobEvent event = events.next();
      onEvent.accept(event);
      if (event.hasJob()) {
        last = event.getJob();
      }
    }
    if (last == null || !JobState.of(last.getState()).isTerminal()) {
      throw Status.UNAVAILABLE.withDescription("the service ended the job's stream before the job ended").asRuntimeException();
    }
    return last;
  }
}
