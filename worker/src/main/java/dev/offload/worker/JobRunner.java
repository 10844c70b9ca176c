package dev.offload.worker;

import dev.offload.proto.v1.ExecuteJob;
import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.worker.api.JobContext;
import dev.offload.worker.api.Json;
import dev.offload.worker.api.JobHandler;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Runs a worker's jobs, one at a time, on the single job thread it starts once. Jobs arrive through
 * {@link #offer} from the I/O thread; progress and the one result of each job leave through {@link
 * Events}. A handler's exception becomes a failed result; it never ends the thread.
 */
final class JobRunner {

  /** Where a job's progress and result go. Called on the job thread; must not block for long. */
  interface Events {
    void progress(String jobId, JobProgress progress);

    void finished(JobResult result);
  }

  private static final System.Logger LOG = System.getLogger(JobRunner.class.getName());

  /** Progress reports closer together than this are dropped, except the one for completion. */
  private static final long PROGRESS_INTERVAL_NANOS = 50_000_000;

  private final HandlerRegistry registry;
  private final Events events;
  /** Holds the one job accepted and not yet taken by the job thread. */
  private final BlockingQueue<Accepted> inbox = new ArrayBlockingQueue<>(1);
  private final Object lock = new Object();
  /**
   * The job accepted and not yet finished, from {@link #offer} until its result is made (so a
   * cancel that comes before the job thread takes it is not lost); guarded by {@link #lock}.
   */
  private RunningJob current;

  private record Accepted(ExecuteJob job, RunningJob context) {}
  private final Thread thread;

  JobRunner(HandlerRegistry registry, Events events) {
    this.registry = registry;
    this.events = events;
    this.thread = Thread.ofPlatform().name("offload-job").daemon(true).unstarted(this::loop);
  }

  void start() {
    thread.start();
  }

  /**
   * Hands a job to the job thread.
   *
   * @return false if a job is already running or waiting, which the protocol forbids
   */
  boolean offer(ExecuteJob job) {
    synchronized (lock) {
      if (current != null) {
        return false;
      }
      current = new RunningJob(job.getJobId());
      return inbox.offer(new Accepted(job, current));
    }
  }

  /** Cancels the job with this id if it is the one running; a stale id is ignored. */
  void cancel(String jobId) {
    synchronized (lock) {
      if (current != null && current.jobId().equals(jobId)) {
        current.cancelled = true;
        thread.interrupt();
      }
    }
  }

  private void loop() {
    while (true) {
      Accepted accepted;
      try {
        accepted = inbox.take();
      } catch (InterruptedException e) {
        continue; // a cancel that came before the job was taken; the context has it
      }
      JobResult result = run(accepted.job(), accepted.context());
      try {
        events.finished(result);
      } catch (RuntimeException e) {
        // The stream to the supervisor is broken; the next job must still find this thread alive.
        LOG.log(System.Logger.Level.WARNING, "could not send the result of job " + result.getJobId(), e);
      }
    }
  }

  private JobResult run(ExecuteJob job, RunningJob context) {
    long start = System.nanoTime();
    JobResult.Builder result = JobResult.newBuilder().setJobId(job.getJobId());
    try {
      if (context.cancelled) {
        return result.setCancelled(true).build();
      }
      String output = handler(job.getHandler()).run(inputOf(job), context);
      if (context.cancelled) {
        result.setCancelled(true);
      } else {
        result.setOutputJson(checkedOutput(job.getHandler(), output));
      }
    } catch (Throwable failure) {
      if (context.cancelled) {
        result.setCancelled(true);
      } else {
        LOG.log(System.Logger.Level.WARNING, "job " + job.getJobId() + " failed", failure);
        result.setError(
            JobError.newBuilder().setCode("HANDLER_ERROR").setMessage(describe(failure)).build());
      }
    } finally {
      synchronized (lock) {
        current = null;
        Thread.interrupted(); // a cancel that came as the job ended must not hit the next one
      }
    }
    return result.setRunNanos(System.nanoTime() - start).build();
  }

  private JobHandler handler(String name) {
    return registry
        .find(name)
        .orElseThrow(() -> new IllegalArgumentException("this worker has no handler '" + name + "'"));
  }

  private static String inputOf(ExecuteJob job) {
    return job.getInputJson().isEmpty() ? "null" : job.getInputJson();
  }

  private static String checkedOutput(String handler, String output) {
    if (output == null) {
      return "null";
    }
    try {
      Json.parse(output);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "handler '" + handler + "' returned output that is not JSON (" + e.getMessage() + ")");
    }
    return output;
  }

  private static String describe(Throwable failure) {
    String message = failure.getMessage();
    if (failure instanceof IllegalArgumentException && message != null) {
      return message;
    }
    String type = failure.getClass().getSimpleName();
    return message == null ? type : type + ": " + message;
  }

  /** The context of the job on the thread now. */
  private final class RunningJob implements JobContext {
    private final String jobId;
    private volatile boolean cancelled;
    private long lastProgressNanos;

    RunningJob(String jobId) {
      this.jobId = jobId;
    }

    @Override
    public String jobId() {
      return jobId;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public synchronized void reportProgress(double fraction, String message) {
      long now = System.nanoTime();
      if (fraction < 1.0 && now - lastProgressNanos < PROGRESS_INTERVAL_NANOS) {
        return;
      }
      lastProgressNanos = now;
      events.progress(
          jobId,
          JobProgress.newBuilder()
              .setFraction(Math.min(fraction, 1.0))
              .setMessage(message == null ? "" : message)
              .build());
    }

    @Override
    public System.Logger logger() {
      return System.getLogger("offload.job." + jobId);
    }
  }
}
