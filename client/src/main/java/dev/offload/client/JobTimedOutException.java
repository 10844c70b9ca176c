package dev.offload.client;

/**
 * A job ended TIMED_OUT: it ran past its timeout (code {@code TIMED_OUT}, see {@link
 * JobOptions#withTimeout}) or its deadline passed (code {@code DEADLINE_EXCEEDED}, see {@link
 * JobOptions#withDeadline}), and the service stopped it. The message is the service's.
 */
public final class JobTimedOutException extends OffloadException {

  private static final long serialVersionUID = 1L;

  /** The job's id. */
  private final String jobId;
  /** TIMED_OUT or DEADLINE_EXCEEDED. */
  private final String code;

  JobTimedOutException(String jobId, String code, String message) {
    super("job " + jobId + " TIMED_OUT (" + code + "): " + message);
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
   * Which limit ended the job.
   *
   * @return {@code TIMED_OUT} for the run-time limit, {@code DEADLINE_EXCEEDED} for the deadline
   */
  public String code() {
    return code;
  }
}
