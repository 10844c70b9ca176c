package dev.offload.client;

import dev.offload.wire.IdempotencyKeys;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How to run one job: its limits, retries, idempotency key and a progress listener. Immutable: every {@code with}
 * method returns a new instance, so one instance can be shared by many threads and calls.
 *
 * <pre>{@code
 * JobOptions options = JobOptions.defaults().withDeadline(Duration.ofSeconds(30)).withRetries(1);
 * }</pre>
 *
 * <p>Both limits are kept by the service, which stops the job when one passes (as a cancel
 * stops it: its worker is killed if it does not stop in time) and ends it TIMED_OUT; waiting
 * calls then throw {@link JobTimedOutException}. That is what a timeout on a derived future
 * ({@code orTimeout}) does not do: see {@link JobHandle}.
 */
public final class JobOptions {

  private static final JobOptions DEFAULTS = new JobOptions(null, null, 0, null, null);

  private final Duration timeout;
  private final Duration deadline;
  private final int retries;
  private final String idempotencyKey;
  private final Consumer<Progress> progressListener;

  private JobOptions(Duration timeout, Duration deadline, int retries, String idempotencyKey, Consumer<Progress> progressListener) {
    this.timeout = timeout;
    this.deadline = deadline;
    this.retries = retries;
    this.idempotencyKey = idempotencyKey;
    this.progressListener = progressListener;
  }

  /**
   * The options a job has unless told otherwise: the service's default timeout, no deadline, no
   * retries, no idempotency key, no progress listener.
   *
   * @return the default options
   */
  public static JobOptions defaults() {
    return DEFAULTS;
  }

  /**
   * Limits each attempt's run time, counted from when the job reaches a worker (queue time not
   * included). Past it the service stops the job and ends it TIMED_OUT with code {@code
   * TIMED_OUT}.
   *
   * @param timeout a positive duration, at least a millisecond
   * @return options with this timeout
   * @throws IllegalArgumentException if the duration is shorter than a millisecond
   */
  public JobOptions withTimeout(Duration timeout) {
    return new JobOptions(positive(timeout, "timeout"), deadline, retries, idempotencyKey, progressListener);
  }

  /**
   * Limits the job's whole life, counted from when the service accepts it: queue time and every
   * attempt included, as a gRPC deadline is. When it passes, the service ends the job TIMED_OUT
   * with code {@code DEADLINE_EXCEEDED}: a queued job at once, a running one stopped as a cancel
   * stops it. This is the timeout that cancels the work.
   *
   * @param deadline a positive duration, at least a millisecond
   * @return options with this deadline
   * @throws IllegalArgumentException if the duration is shorter than a millisecond
   */
  public JobOptions withDeadline(Duration deadline) {
    return new JobOptions(timeout, positive(deadline, "deadline"), retries, idempotencyKey, progressListener);
  }

  /**
   * How many times the service may run the job again if its worker is lost (the process died or
   * stopped answering). Retry only jobs that are safe to run twice. A handler's exception is
   * never retried: it is the job's result.
   *
   * @param retries 0 or more; the service refuses more than it allows ({@code serve
   *     --max-retries}) with {@link InvalidInputException}
   * @return options with these retries
   * @throws IllegalArgumentException if {@code retries} is negative
   */
  public JobOptions withRetries(int retries) {
    if (retries < 0) {
      throw new IllegalArgumentException("retries must be 0 or more, got " + retries);
    }
    return new JobOptions(timeout, deadline, retries, idempotencyKey, progressListener);
  }

  /**
   * Makes the submission idempotent: if the service already holds a job submitted with this key
   * (queued, running, or finished and still kept: {@code serve --keep-finished}, across a restart
   * of a service that keeps its jobs), nothing new runs, and the call follows that job as if it
   * had just been accepted. Submitting again with the same key after a lost connection or a crash
   * of this program therefore never runs the job twice. A key names one job: the same key with
   * another handler or input is refused with {@link InvalidInputException}. Options other than the
   * key are those of the job that has it.
   *
   * @param key a non-empty key of at most 200 UTF-8 bytes, unique to this job: a UUID, or an id of
   *     the caller's own work
   * @return options with this key
   * @throws IllegalArgumentException if the key is empty or longer than 200 bytes
   */
  public JobOptions withIdempotencyKey(String key) {
    Objects.requireNonNull(key, "key");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("an idempotency key must not be empty; leave it unset for a job without one");
    }
    String problem = IdempotencyKeys.problem(key);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return new JobOptions(timeout, deadline, retries, key, progressListener);
  }

  /**
   * Hands the job's progress reports to a listener as they arrive. The listener runs on the
   * client's I/O thread, one report at a time: it must return quickly and must not block. An
   * exception it throws is logged at WARN and otherwise ignored.
   *
   * @param listener what to call with each report
   * @return options with this listener
   */
  public JobOptions withProgressListener(Consumer<Progress> listener) {
    return new JobOptions(timeout, deadline, retries, idempotencyKey, Objects.requireNonNull(listener, "listener"));
  }

  /**
   * The run-time limit of each attempt.
   *
   * @return the timeout; empty for the service's default
   */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  /**
   * The limit of the job's whole life.
   *
   * @return the deadline; empty for none
   */
  public Optional<Duration> deadline() {
    return Optional.ofNullable(deadline);
  }

  /**
   * How many times the job may be run again if its worker is lost.
   *
   * @return 0 or more
   */
  public int retries() {
    return retries;
  }

  /**
   * The key that makes the submission idempotent.
   *
   * @return the key; empty for none
   */
  public Optional<String> idempotencyKey() {
    return Optional.ofNullable(idempotencyKey);
  }

  /**
   * The listener of the job's progress reports.
   *
   * @return the listener; empty for none
   */
  public Optional<Consumer<Progress>> progressListener() {
    return Optional.ofNullable(progressListener);
  }

  /** The request's milliseconds for a duration: rounded up, so that a limit is never shorter than asked. */
  static long millis(Duration duration) {
    if (duration == null) {
      return 0;
    }
    long millis = duration.toMillis();
    return duration.equals(Duration.ofMillis(millis)) ? millis : millis + 1;
  }

  private static Duration positive(Duration duration, String what) {
    Objects.requireNonNull(duration, what);
    if (duration.compareTo(Duration.ofMillis(1)) < 0) {
      throw new IllegalArgumentException("a job's " + what + " must be at least 1 ms, got " + duration);
    }
    return duration;
  }

  @Override
  public String toString() {
    return "JobOptions[timeout=" + timeout + ", deadline=" + deadline + ", retries=" + retries
        + ", idempotencyKey=" + idempotencyKey + ", progressListener=" + (progressListener != null) + "]";
  }
}
