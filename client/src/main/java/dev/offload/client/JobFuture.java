package dev.offload.client;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The future of one submitted job, fed by its {@code RunJob} stream. Cancelling it cancels the
 * job on the service, as soon as the job's id is known.
 */
final class JobFuture extends CompletableFuture<String> implements StreamObserver<JobEvent> {

  private final Consumer<String> cancelJob;
  private String jobId;
  private boolean cancelRequested;

  JobFuture(Consumer<String> cancelJob) {
    this.cancelJob = cancelJob;
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    String id;
    synchronized (this) {
      cancelRequested = true;
      id = jobId;
    }
    if (id != null && !isDone()) {
      cancelJob.accept(id);
    }
    return super.cancel(mayInterruptIfRunning);
  }

  @Override
  public void onNext(JobEvent event) {
    if (!event.hasJob()) {
      return;
    }
    Job job = event.getJob();
    boolean cancelNow;
    synchronized (this) {
      cancelNow = jobId == null && cancelRequested;
      jobId = job.getId();
    }
    if (cancelNow) {
      cancelJob.accept(job.getId());
    }
    switch (job.getState()) {
      case SUCCEEDED -> complete(job.getOutputJson());
      case FAILED, TIMED_OUT -> completeExceptionally(new JobFailedException(job));
      case CANCELLED -> completeExceptionally(new CancellationException("job " + job.getId() + " was cancelled: " + job.getError().getMessage()));
      default -> {
        // Still QUEUED or RUNNING.
      }
    }
  }

  @Override
  public void onError(Throwable t) {
    completeExceptionally(t);
  }

  @Override
  public void onCompleted() {
    if (!isDone()) {
      completeExceptionally(new IllegalStateException("the service ended the job's stream before the job ended"));
    }
  }

}
