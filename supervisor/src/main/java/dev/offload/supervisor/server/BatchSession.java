package dev.offload.supervisor.server;

import dev.offload.proto.v1.BatchLimits;
import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobEvent;
import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.PendingInputs;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * One {@code RunBatch} stream: jobs come in, and exactly one result per job goes out as each job
 * ends. Nothing here blocks: requests are accepted on the call's thread (a job counts as accepted
 * once the job store has recorded it, which may come back later on the I/O thread) and results are
 * written by the jobs' listeners. If the client goes away, every job of the batch still outstanding
 * (or accepted after that) is cancelled. A request with {@code send_limits} is answered with the service's {@link Limits}
 * first, so that the client can keep a job the service could not read off the stream. On a
 * stream whose first request asks for acknowledgements, each job gets a result carrying its id once
 * its record is committed, before its terminal result.
 *
 * <p>A line whose input does not fit in what {@code --pending-memory} leaves is not refused: the
 * stream waits until it fits, and reads no more lines meanwhile (so the client's sends wait in
 * gRPC's flow control), then submits it again.
 *
 * <p>If the service stops and leaves some of the batch's jobs queued for the next service on its
 * store, the stream ends, once every other job of the batch has ended, with UNAVAILABLE and a
 * message naming the kept jobs ({@link KeptJobs}); those jobs are not cancelled when the stream
 * then goes.
 */
final class BatchSession implements StreamObserver<BatchRequest> {

  /** How a job is accepted: see {@link OffloadService#accept(dev.offload.proto.v1.SubmitJobRequest, long, Consumer, Consumer, LongConsumer)}. */
  interface Acceptor {
    void accept(dev.offload.proto.v1.SubmitJobRequest request, long heldBytes, Consumer<Job> accepted,
        Consumer<StatusRuntimeException> refused, LongConsumer noRoom);
  }

  private final Acceptor accept;
  private final PendingInputs pending;
  private final Dispatcher dispatcher;
  private final BatchLimits limits;
  private final ServerCallStreamObserver<BatchResult> results;
  /** Where kept jobs stay, for the message that names them. */
  private final String storeUrl;
  /** Whether the stream's first request has been read; only the call's thread reads and writes it. */
  private boolean firstRead;
  /** Whether each job is acknowledged (the first request's {@code acknowledge}); set before any job is accepted. */
  private volatile boolean acknowledge;
  /** The ids of the batch's jobs the service left queued for the next one, in the order they were kept. Guarded by {@code this}. */
  private final List<String> kept = new ArrayList<>();
  /**
   * The jobs of this batch that have not ended, by the listener that sends each one's result: one
   * entry per request, as two requests with one idempotency key follow the same job and each gets
   * its result.
   */
  private final Map<Job.Listener, Job> outstanding = new ConcurrentHashMap<>();
  /** Requests whose acceptance has not been decided yet (the store has not committed them). Guarded by {@code this}. */
  private int deciding;
  private boolean inputDone;
  private boolean finished;
  /** Whether the client went away (cancelled the call, or its connection broke). Guarded by {@code this}. */
  private boolean clientLeft;
  /** The line in hand's wait for room, while it waits: cancelled if the client goes. Guarded by {@code this}. */
  private PendingInputs.Wait waitingForRoom;

  BatchSession(Acceptor accept, PendingInputs pending, Dispatcher dispatcher, Limits limits, String storeUrl,
      ServerCallStreamObserver<BatchResult> results) {
    this.storeUrl = storeUrl;
    this.accept = accept;
    this.pending = pending;
    this.dispatcher = dispatcher;
    this.limits = BatchLimits.newBuilder()
        .setMaxRequestBytes(limits.maxRequestBytes())
        .setMaxInputBytes(limits.maxInputBytes())
        .build();
    this.results = results;
    results.setOnCancelHandler(this::clientGone);
    // Each line is read once the one before has been taken: see take.
    results.disableAutoRequest();
    results.request(1);
  }

  @Override
  public void onNext(BatchRequest request) {
    if (!firstRead) {
      firstRead = true;
      acknowledge = request.getAcknowledge(); // a setting of the stream, read once
    }
    if (request.getSendLimits()) {
      send(BatchResult.newBuilder().setKey(request.getKey()).setLimits(limits).build());
      if (!request.hasJob()) {
        results.request(1);
        return;
      }
    }
    synchronized (this) {
      deciding++;
    }
    take(request, OffloadService.NOT_HELD);
  }

  /**
   * Submits a line's job and reads the next line; or, if its input does not fit in what {@code
   * --pending-memory} leaves, waits for room without reading on, and then takes it again with the
   * room held for it (on a virtual thread: room comes on the thread of a job's end, which may hold
   * locks).
   */
  private void take(BatchRequest request, long heldBytes) {
    boolean[] waits = {false};
    accept.accept(request.getJob(), heldBytes, job -> accepted(request, job), e -> {
      send(BatchResult.newBuilder().setKey(request.getKey())
          .setRejected(JobError.newBuilder()
              .setCode(e.getStatus().getCode().name())
              .setMessage(String.valueOf(e.getStatus().getDescription())))
          .build());
      decided();
    }, bytes -> {
      waits[0] = true;
      PendingInputs.Wait wait = pending.whenFits(bytes,
          held -> Thread.ofVirtual().name("offload-batch-room").start(() -> takeAfterWait(request, held)));
      synchronized (this) {
        waitingForRoom = wait; // cancelled by clientGone; a wait that ran already ignores it
      }
    });
    if (!waits[0]) {
      results.request(1);
    }
  }

  private void takeAfterWait(BatchRequest request, long heldBytes) {
    boolean gone;
    synchronized (this) {
      gone = clientLeft;
      waitingForRoom = null;
    }
    if (gone) {
      pending.release(heldBytes);
      decided(); // nothing to run it for, and nothing to read on
      return;
    }
    try {
      take(request, heldBytes); // which gives the room back if it throws
    } catch (RuntimeException | Error e) {
      // On the stream's own thread gRPC would close the call; here nobody would, and the client would wait for good.
      synchronized (this) {
        if (!finished) {
          finished = true;
          results.onError(io.grpc.Status.INTERNAL.withDescription("the service could not take a batch line after it waited for"
              + " room: " + e + "; this is a bug in offload, please report it").withCause(e).asRuntimeException());
        }
      }
      clientGone();
      if (e instanceof Error error) {
        throw error;
      }
    }
  }

  private void accepted(BatchRequest request, Job job) {
    Job.Listener result = new Job.Listener() {
      @Override
      public void event(JobEvent event) {
        if (!event.hasJob() || !Job.isTerminal(event.getJob().getState())) {
          return;
        }
        // Out of outstanding and sent in one step: ends come from more than one thread (another
        // service's, through a shared store), and the stream must not be finished in between.
        synchronized (BatchSession.this) {
          if (outstanding.remove(this) == null) {
            return;
          }
          send(BatchResult.newBuilder().setKey(request.getKey()).setJob(event.getJob()).build());
        }
        finishIfDone();
      }

      @Override
      public void kept(Job keptJob) {
        // Out of outstanding, so that the stream's end does not cancel it: the next service runs it.
        synchronized (BatchSession.this) {
          if (outstanding.remove(this) == null) {
            return;
          }
          kept.add(keptJob.id());
        }
        finishIfDone();
      }
    };
    outstanding.put(result, job);
    boolean gone;
    synchronized (this) {
      // Not merely finished: a stream this service ended, leaving jobs queued, cancels nothing.
      gone = clientLeft || results.isCancelled();
    }
    if (acknowledge) {
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
    PendingInputs.Wait wait;
    synchronized (this) {
      finished = true;
      clientLeft = true;
      wait = waitingForRoom;
      waitingForRoom = null;
    }
    if (wait != null && wait.cancel()) {
      decided(); // the line in hand: never to be taken
    }
    outstanding.values().forEach(dispatcher::cancel);
  }

  /**
   * Ends the stream once every job accepted has been answered: when the input is done, or, once
   * the service has left some of the batch's jobs queued for its next start, at once (the lines
   * still coming could only be refused).
   */
  private void finishIfDone() {
    synchronized (this) {
      if (finished || (!inputDone && kept.isEmpty()) || deciding > 0 || !outstanding.isEmpty()) {
        return;
      }
      finished = true;
      if (kept.isEmpty()) {
        results.onCompleted();
      } else if (!results.isCancelled()) {
        results.onError(KeptJobs.status(List.copyOf(kept), storeUrl, true));
      }
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
