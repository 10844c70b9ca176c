package dev.offload.worker;

import dev.offload.proto.v1.DescribeWorkerRequest;
import dev.offload.proto.v1.DescribeWorkerResponse;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.JobResults;
import dev.offload.proto.v1.Pong;
import dev.offload.proto.v1.SupervisorMessage;
import dev.offload.proto.v1.WorkerGrpc;
import dev.offload.proto.v1.WorkerMessage;
import dev.offload.proto.v1.WorkerProgress;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The worker's side of the worker protocol. It runs on the I/O thread (the server uses a direct
 * executor): it only hands jobs to the {@link JobRunner}, flags cancels and answers pings, so it
 * never blocks. The supervisor holds exactly one {@code Connect} stream; when that stream ends,
 * the supervisor is gone and so is the point of this process.
 *
 * <p>Results go up in batches without waiting for one: the job thread only queues a result and,
 * if none was queued, asks the I/O thread to send what is queued. While the I/O thread wakes, a
 * job thread running short jobs finishes more, and they all travel in one message — one write
 * and one wake-up of the supervisor for many jobs, which is most of a short job's cost.
 */
final class WorkerService extends WorkerGrpc.WorkerImplBase implements JobRunner.Events {

  private final HandlerRegistry registry;
  private final LogEnd logEnd;
  private final JobRunner runner;
  private final StreamEnd onStreamEnd;
  /** Results are batched up to about this size, far below what the supervisor accepts. */
  private static final int RESULTS_MESSAGE_BYTES = 1 << 20;

  private final Executor ioThread;
  private final AtomicBoolean connected = new AtomicBoolean();
  private final Queue<JobResult> unsentResults = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean resultsSendScheduled = new AtomicBoolean();
  /** The stream up to the supervisor; writes are serialized on it. */
  private volatile StreamObserver<WorkerMessage> upstream;

  /** How the supervisor's stream ended, which tells how the worker exits. Called on the I/O thread. */
  interface StreamEnd {
    /** The supervisor closed it: it is alive, and done with this worker. */
    void closed();

    /** It broke: most likely the supervisor has died (the worker's stdin says so too). */
    void broken();
  }

  /**
   * @param ioThread the server's single I/O thread, where results are written
   */
  WorkerService(HandlerRegistry registry, long maxOutputBytes, LogEnd logEnd, Executor ioThread, StreamEnd onStreamEnd) {
    this.registry = registry;
    this.logEnd = logEnd;
    this.ioThread = ioThread;
    this.runner = new JobRunner(registry, maxOutputBytes, logEnd, this);
    this.onStreamEnd = onStreamEnd;
    runner.start();
  }

  @Override
  public void describeWorker(
      DescribeWorkerRequest request, StreamObserver<DescribeWorkerResponse> response) {
    response.onNext(
        DescribeWorkerResponse.newBuilder()
            .setPid(ProcessHandle.current().pid())
            .addAllHandlers(registry.describe())
            .setLogEnd(logEnd.now())
            .build());
    response.onCompleted();
  }

  @Override
  public StreamObserver<SupervisorMessage> connect(StreamObserver<WorkerMessage> response) {
    if (!connected.compareAndSet(false, true)) {
      response.onError(
          Status.FAILED_PRECONDITION
              .withDescription("this worker already serves a supervisor stream")
              .asRuntimeException());
      return new DiscardingObserver();
    }
    upstream = response;
    return new StreamObserver<>() {
      @Override
      public void onNext(SupervisorMessage message) {
        switch (message.getMessageCase()) {
          case EXECUTE -> runner.offer(message.getExecute().getJobsList());
          case CANCEL -> runner.cancel(message.getCancel().getJobId());
          case PING ->
              send(
                  WorkerMessage.newBuilder()
                      .setPong(Pong.newBuilder().setSequence(message.getPing().getSequence()))
                      .build());
          case MESSAGE_NOT_SET -> {
            // A newer supervisor's message this worker does not know; nothing to do.
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        onStreamEnd.broken();
      }

      @Override
      public void onCompleted() {
        onStreamEnd.closed();
      }
    };
  }

  @Override
  public void progress(String jobId, JobProgress progress) {
    send(
        WorkerMessage.newBuilder()
            .setProgress(WorkerProgress.newBuilder().setJobId(jobId).setProgress(progress))
            .build());
  }

  @Override
  public void finished(JobResult result) {
    unsentResults.add(result);
    if (resultsSendScheduled.compareAndSet(false, true)) {
      ioThread.execute(this::sendResults);
    }
  }

  /**
   * On the I/O thread: sends every queued result, as few messages as possible of at most about
   * {@link #RESULTS_MESSAGE_BYTES} (one large result travels alone).
   */
  private void sendResults() {
    // Cleared first: a result queued from here on schedules another send, so none is stranded.
    resultsSendScheduled.set(false);
    JobResults.Builder batch = JobResults.newBuilder();
    long batchBytes = 0;
    for (JobResult result = unsentResults.poll(); result != null; result = unsentResults.poll()) {
      int bytes = result.getSerializedSize();
      if (batch.getResultsCount() > 0 && batchBytes + bytes > RESULTS_MESSAGE_BYTES) {
        send(WorkerMessage.newBuilder().setResults(batch).build());
        batch = JobResults.newBuilder();
        batchBytes = 0;
      }
      batch.addResults(result);
      batchBytes += bytes;
    }
    if (batch.getResultsCount() > 0) {
      send(WorkerMessage.newBuilder().setResults(batch).build());
    }
  }

  private void send(WorkerMessage message) {
    StreamObserver<WorkerMessage> stream = upstream;
    if (stream == null) {
      return;
    }
    // The job thread (progress) and the I/O thread both write; a stream takes one writer at a time.
    synchronized (this) {
      try {
        stream.onNext(message);
      } catch (IllegalStateException streamOver) {
        // The supervisor's stream has ended; onStreamEnd ends this process.
      }
    }
  }

  private static final class DiscardingObserver implements StreamObserver<SupervisorMessage> {
    @Override
    public void onNext(SupervisorMessage value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
