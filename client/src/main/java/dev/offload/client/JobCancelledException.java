package dev.offload.client;

import java.util.concurrent.CancellationException;

/**
 * A job ended CANCELLED on the service: a client cancelled it (code {@code CANCELLED}), or the
 * service shut down before it ended ({@code SHUTDOWN}). It is a {@link CancellationException}, as
 * {@link java.util.concurrent.Future#get()} throws for a cancelled task, so a job's {@link
 * JobHandle#future()} then reports {@code isCancelled()}.
 */
public final class JobCancelledException extends CancellationException {

  private static final long serialVersionUID = 1L;

  /** The cancelled job's id. */
  private final String jobId;
  /** CANCELLED or SHUTDOWN. */
  private final String code;

  JobCancelledException(String jobId, String code, String message) {
    super("job " + jobId + " CANCELLED (" + code + "): " + message);
    this.jobId = jobId;
    this.code = code;
  }

  /**
   * The job's id.
   *
   * @return the id the service gave the job
   */
  public String jobId() {
    return jobId;
  }

  /**
   * Why the job was cancelled.
   *
   * @return {@code CANCELLED} when a client cancelled it, {@code SHUTDOWN} when the service shut
   *     down first
   */
  public String code() {
    return code;
  }
}
