package dev.offload.client;

/**
 * A job SUCCEEDED but its output could not be read as the type asked for: the handler's output
 * and the Java type do not match. {@link #outputJson()} holds the output as the handler returned
 * it.
 */
public final class OutputTypeException extends OffloadException {

  private static final long serialVersionUID = 1L;

  /** The job's id. */
  private final String jobId;
  /** The job's output as the handler returned it. */
  private final String outputJson;

  OutputTypeException(String jobId, String outputJson, Class<?> type, Throwable cause) {
    super("job " + jobId + " succeeded, but its output cannot be read as " + type.getName() + ": " + cause.getMessage()
        + "; make the type match the handler's output (or take it as JSON text with submitJson)", cause);
    this.jobId = jobId;
    this.outputJson = outputJson;
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
   * The job's output.
   *
   * @return the handler's output as JSON text
   */
  public String outputJson() {
    return outputJson;
  }
}
