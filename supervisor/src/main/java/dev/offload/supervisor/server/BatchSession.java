package dev.offload.supervisor.server;

import dev.offload.proto.v1.BatchLimits;
import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobEvent;
import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.Job;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * One {@code RunBatch} stream: jobs come in, and exactly one result per job goes out as each job
 * ends. Nothing here blocks: requests are accepted on the call's thread (a job counts as accepted
 * once the job store has recorded it, which may come back later on the I/O thread) and results are
 * written by the jobs' listeners. If the client goes away, every job of the batch still outstanding
 * (or accepted after that) is cancelled. A request with {@code send_limits} is answered with the service's {@link Limits}
 * first, so that the client can keep a job the service could not read off the stream. A job that
 * asks to be acknowledged gets a result carrying its id once its record is committed, before its
 * terminal result.
 */
final class BatchSession implements StreamObserver<BatchRequest> {

  /** How a job is accepted: see {@link OffloadService#accept}. */
  interface Acceptor {
    void accept(dev.offload.proto.v1.SubmitJobRequest request, Consumer<Job> accepted, Consumer<StatusRuntimeException> refused);
  }

  private final Acceptor accept;
  private final Dispatcher dispatcher;
  private final BatchLimits limits;
  private final ServerCallStreamObserver<BatchResult> results;
  /**
   * The jobs of this batch that have not ended, by the listener that sends each one's result: one
   * entry per request, as two requests with one idempotency key follow the same job and each gets
   * its result.
   */
  private final Map<Consumer<JobEvent>, Job> outstanding = new ConcurrentHashMap<>();
  /** Requests whose acceptance has not been decided yet (the store has not committed them). Guarded by {@code this}. */
  private int deciding;
  private boolean inputDone;
  private boolean finished;

  BatchSession(Acceptor accept, Dispatcher dispatcher, Limits limits,
      ServerCallStreamObserver<BatchResult> results) {
    this.accept = accept;
    this.dispatcher = dispatcher;
    this.limits = BatchLimits.newBuilder()
        .setMaxRequestBytes(limits.maxRequestBytes())
        .setMaxInputBytes(limits.maxInputBytes())
        .build();
    this.results = results;
    results.setOnCancelHandler(this::clientGone);
  }

  @Override
  public void onNext(BatchRequest request) {
    if (request.getSendLimits()) {
      send(BatchResult.newBuilder().setKey(request.getKey()).setLimits(limits).build());
      if (!request.hasJob()) {
        return;
      }
    }
    synchronized (this) {
      deciding++;
    }
    accept.accept(request.getJob(), job -> accepted(request, job), e -> {
      send(BatchResult.newBuilder().setKey(request.getKey())
          .setRejected(JobError.newBuilder()
              .setCode(e.getStatus().getCode().name())
              .setMessage(String.valueOf(e.getStatus().getDescription())))
          .build());
      decided();
    });
  }

  private void accepted(BatchRequest request, Job job) {
    Consumer<JobEvent> result = new Consumer<>() {
      @Override
      public void accept(JobEvent event) {
        if (event.hasJob() && Job.isTerminal(event.getJob().getState()) && outstanding.remove(this) != null) {
          send(BatchResult.newBuilder().setKey(request.getKey()).setJob(event.getJob()).build());
          finishIfDone();
        }
      }
    };
    outstanding.put(result, job);
    boolean gone;
    synchronized (this) {
      gone = finished || results.isCancelled();
    }
    if (request.getJob().getAcknowledge()) {
      // Here, once the store has committed the job and before its listener can send its result,
      // so that the client learns the id before the result, and only for a job that will survive
      // a crash of this service.
      send(BatchResult.newBuilder().setKey(request.getKey()).setAccepted(job.id()).build());
    }
    job.subscribe(result);
    if (gone) {
      dispatcher.cancel(job); // accepted after the client went away
    }
    decided();
  }

  private void decided() {
    synchronized (this) {
      deciding--;
    }
    finishIfDone();
  }

  @Override
  public void onError(Throwable t) {
    clientGone();
  }

  @Override
  public void onCompleted() {
    synchronized (this) {
      inputDone = true;
    }
    finishIfDone();
  }

  private void clientGone() {
    synchronized (this) {
      finished = true;
    }
    outstanding.values().forEach(dispatcher::cancel);
  }

  private void finishIfDone() {
    synchronized (this) {
      if (finished || !inputDone || deciding > 0 || !outstanding.isEmpty()) {
        return;
      }
      finished = true;
      results.onCompleted();
    }
  }

  private void send(BatchResult result) {
    // Results come from many jobs' threads; a stream takes one writer at a time.
    synchronized (this) {
      if (!finished && !results.isCancelled()) {
        results.onNext(result);
      }
    }
  }
}
