package dev.offload.worker;

import dev.offload.proto.v1.DescribeWorkerRequest;
import dev.offload.proto.v1.DescribeWorkerResponse;
import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.Pong;
import dev.offload.proto.v1.SupervisorMessage;
import dev.offload.proto.v1.WorkerGrpc;
import dev.offload.proto.v1.WorkerMessage;
import dev.offload.proto.v1.WorkerProgress;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The worker's side of the worker protocol. It runs on the I/O thread (the server uses a direct
 * executor): it only hands jobs to the {@link JobRunner}, flags cancels and answers pings, so it
 * never blocks. The supervisor holds exactly one {@code Connect} stream; when that stream ends,
 * the supervisor is gone and so is the point of this process.
 */
final class WorkerService extends WorkerGrpc.WorkerImplBase implements JobRunner.Events {

  private final HandlerRegistry registry;
  private final JobRunner runner;
  private final Runnable onSupervisorGone;
  private final AtomicBoolean connected = new AtomicBoolean();
  /** The stream up to the supervisor; writes are serialized on it. */
  private volatile StreamObserver<WorkerMessage> upstream;

  WorkerService(HandlerRegistry registry, Runnable onSupervisorGone) {
    this.registry = registry;
    this.runner = new JobRunner(registry, this);
    this.onSupervisorGone = onSupervisorGone;
    runner.start();
  }

  @Override
  public void describeWorker(
      DescribeWorkerRequest request, StreamObserver<DescribeWorkerResponse> response) {
    response.onNext(
        DescribeWorkerResponse.newBuilder()
            .setPid(ProcessHandle.current().pid())
            .addAllHandlers(registry.describe())
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
          case EXECUTE -> {
            if (!runner.offer(message.getExecute())) {
              finished(busy(message.getExecute().getJobId()));
            }
          }
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
        onSupervisorGone.run();
      }

      @Override
      public void onCompleted() {
        onSupervisorGone.run();
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
    send(WorkerMessage.newBuilder().setResult(result).build());
  }

  private void send(WorkerMessage message) {
    StreamObserver<WorkerMessage> stream = upstream;
    if (stream == null) {
      return;
    }
    // The job thread and the I/O thread (pongs) both write; a stream takes one writer at a time.
    synchronized (this) {
      stream.onNext(message);
    }
  }

  private static JobResult busy(String jobId) {
    return JobResult.newBuilder()
        .setJobId(jobId)
        .setError(
            JobError.newBuilder()
                .setCode("WORKER_BUSY")
                .setMessage("the worker was sent a job while another was running"))
        .build();
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
