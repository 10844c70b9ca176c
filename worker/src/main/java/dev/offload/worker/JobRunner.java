package dev.offload.worker;

import dev.offload.wire.Utf8;
import dev.offload.proto.v1.ExecuteJob;
import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.Json;
import dev.offload.sdk.JobHandler;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a worker's jobs, one at a time and in the order given, on the single job thread it starts
 * once. Jobs arrive through {@link #offer} from the I/O thread, possibly several ahead of the one
 * running; progress and the one result of each job leave through {@link Events}. A handler's
 * exception becomes a failed result; it never ends the thread.
 */
final class JobRunner {

  /**
   * Where a job's progress and result go. Called on the job thread, or on the caller of {@link
   * #cancel} for a job cancelled before it started; must not block for long.
   */
  interface Events {
    void progress(String jobId, JobProgress progress);

    void finished(JobResult result);
  }

  private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);

  /** Progress reports closer together than this are dropped, except the one for completion. */
  private static final long PROGRESS_INTERVAL_NANOS = 50_000_000;

  /** A progress message is for a terminal line; longer ones are cut to this many characters. */
  static final int MAX_PROGRESS_MESSAGE_CHARS = 1_000;

  /**
   * A failed job's stack trace is cut to this many characters (16 KiB of ASCII, the bound the
   * protocol's JobError.stack_trace promises): every watcher of the job is sent it.
   */
  static final int MAX_STACK_TRACE_CHARS = 16 * 1024 - 100;

  private final HandlerRegistry registry;
  private final long maxOutputBytes;
  private final LogEnd logEnd;
  private final Events events;
  private final Thread thread;
  /** Guards {@link #waiting} and {@link #current}: a cancel must see a job in exactly one of them. */
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition jobArrived = lock.newCondition();
  /** Jobs accepted and not yet taken by the job thread, in order. */
  private final Deque<Accepted> waiting = new ArrayDeque<>();
  /** The job on the job thread now, from when it is taken until its result is made; else null. */
  private RunningJob current;

  private record Accepted(ExecuteJob job, RunningJob context) {}

  /**
   * @param maxOutputBytes the most output, in UTF-8 bytes, a job may produce; more ends it FAILED
   *     with OUTPUT_TOO_LARGE
   * @param logEnd where the worker's log ends, which each result carries when it has moved
   */
  JobRunner(HandlerRegistry registry, long maxOutputBytes, LogEnd logEnd, Events events) {
    this.registry = registry;
    this.maxOutputBytes = maxOutputBytes;
    this.logEnd = logEnd;
    this.events = events;
    this.thread = Thread.ofPlatform().name("offload-job").daemon(true).unstarted(this::loop);
  }

  void start() {
    thread.start();
  }

  /** Queues jobs behind any already accepted; they run in this order. */
  void offer(List<ExecuteJob> jobs) {
    lock.lock();
    try {
      for (ExecuteJob job : jobs) {
        waiting.addLast(new Accepted(job, new RunningJob(job.getJobId())));
      }
      jobArrived.signal();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Cancels the job with this id: the running one is told and interrupted; a waiting one is
   * dropped and its cancelled result sent now, so it never waits for the jobs ahead of it. An id
   * this runner does not hold is ignored.
   */
  void cancel(String jobId) {
    JobResult dropped = null;
    lock.lock();
    try {
      if (current != null && current.jobId().equals(jobId)) {
        current.cancelled = true;
        thread.interrupt();
        return;
      }
      for (Iterator<Accepted> it = waiting.iterator(); it.hasNext(); ) {
        if (it.next().job().getJobId().equals(jobId)) {
          it.remove();
          dropped = JobResult.newBuilder().setJobId(jobId).setCancelled(true).build();
          break;
        }
      }
    } finally {
      lock.unlock();
    }
    if (dropped != null) {
      events.finished(dropped);
    }
  }

  private void loop() {
    while (true) {
      Accepted accepted;
      lock.lock();
      try {
        while (waiting.isEmpty()) {
          jobArrived.awaitUninterruptibly();
        }
        accepted = waiting.pollFirst();
        current = accepted.context();
      } finally {
        lock.unlock();
      }
      JobResult result = run(accepted.job(), accepted.context());
      try {
        events.finished(result);
      } catch (RuntimeException e) {
        // The stream to the supervisor is broken; the next job must still find this thread alive.
        LOG.warn("could not send the result of job " + result.getJobId(), e);
      }
    }
  }

  private JobResult run(ExecuteJob job, RunningJob context) {
    long start = System.nanoTime();
    JobResult.Builder result = JobResult.newBuilder().setJobId(job.getJobId());
    try {
      if (context.cancelled) {
        return result.setCancelled(true).build(); // cancelled as the job thread took it
      }
      String output = handler(job.getHandler()).run(inputOf(job), context);
      long outputBytes = output == null ? 0 : Utf8.length(output);
      if (context.cancelled) {
        result.setCancelled(true);
      } else if (outputBytes > maxOutputBytes) {
        result.setError(JobError.newBuilder()
            .setCode("OUTPUT_TOO_LARGE")
            .setMessage("handler '" + job.getHandler() + "' produced " + outputBytes + " bytes of output; the service takes at most "
                + maxOutputBytes + " (raise it with 'offload serve --max-output-size', or have the handler write large results to a file and return its path)"));
      } else if (output == null) {
        result.setOutputJson("null");
      } else {
        try {
          Json.parse(output, "the output of handler '" + job.getHandler() + "'");
          result.setOutputJson(output);
        } catch (IllegalArgumentException notJson) {
          // The handler's mistake, not a failure inside it: a stack trace would only point here.
          LOG.warn("job " + job.getJobId() + " failed: " + notJson.getMessage());
          result.setError(JobError.newBuilder().setCode("HANDLER_ERROR").setMessage(notJson.getMessage()));
        }
      }
    } catch (Throwable failure) {
      if (context.cancelled) {
        result.setCancelled(true);
      } else {
        LOG.warn("job " + job.getJobId() + " failed", failure);
        result.setError(JobError.newBuilder()
            .setCode("HANDLER_ERROR")
            .setMessage(describe(failure))
            .setExceptionClass(failure.getClass().getName())
            .setStackTrace(stackTrace(failure))
            .build());
      }
    } finally {
      lock.lock();
      try {
        current = null;
        Thread.interrupted(); // a cancel that came as the job ended must not hit the next one
      } finally {
        lock.unlock();
      }
    }
    // After the job's last line (the warning of its failure too), before its result leaves.
    return result.setRunNanos(System.nanoTime() - start).setLogEnd(logEnd.ifMoved()).build();
  }

  private JobHandler handler(String name) {
    return registry
        .find(name)
        .orElseThrow(() -> new IllegalArgumentException("this worker has no handler '" + name + "'"));
  }

  private static String inputOf(ExecuteJob job) {
    return job.getInputJson().isEmpty() ? "null" : job.getInputJson();
  }

  /**
   * A handler's stack trace, as {@link Throwable#printStackTrace()} writes it, cut to {@link
   * #MAX_STACK_TRACE_CHARS}: the caller's only view of where its handler failed, since the
   * worker's log stays with the service.
   */
  static String stackTrace(Throwable failure) {
    StringWriter text = new StringWriter();
    try (PrintWriter out = new PrintWriter(text)) {
      failure.printStackTrace(out);
    }
    String trace = text.toString();
    if (trace.length() <= MAX_STACK_TRACE_CHARS) {
      return trace;
    }
    int cut = MAX_STACK_TRACE_CHARS;
    if (Character.isHighSurrogate(trace.charAt(cut - 1))) {
      cut--;
    }
    return trace.substring(0, cut) + "\n\t... (" + (trace.length() - cut) + " more characters cut; the worker's log has them all)\n";
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
              .setMessage(message == null ? "" : message.substring(0, Math.min(message.length(), MAX_PROGRESS_MESSAGE_CHARS)))
              .build());
    }

    @Override
    public System.Logger logger() {
      return System.getLogger("offload.job." + jobId);
    }
  }
}
