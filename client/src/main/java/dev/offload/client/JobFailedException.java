package dev.offload.client;

import java.util.Optional;

/**
 * A job ended FAILED: its handler threw (code {@code HANDLER_ERROR}), or its worker was lost
 * ({@code WORKER_LOST}, {@code POISON}: it killed a worker on every attempt), or the service could
 * not take its output ({@code OUTPUT_TOO_LARGE}). For a handler's exception, {@link
 * #handlerExceptionClass()} and {@link #handlerStackTrace()} tell where it failed, as the worker
 * saw it; the message is the service's.
 */
public final class JobFailedException extends OffloadException {

  private static final long serialVersionUID = 1L;

  /** The failed job's id. */
  private final String jobId;
  /** The handler that ran it. */
  private final String handler;
  /** The service's error code. */
  private final String code;
  /** The handler's exception's class name; empty if none. */
  private final String exceptionClass;
  /** The handler's exception's stack trace; empty if none. */
  private final String stackTrace;

  JobFailedException(String jobId, String handler, String code, String message, String exceptionClass, String stackTrace) {
    super("job " + jobId + " FAILED (" + code + "): " + message);
    this.jobId = jobId;
    this.handler = handler;
    this.code = code;
    this.exceptionClass = exceptionClass;
    this.stackTrace = stackTrace;
  }

  /**
   * The failed job's id.
   *
   * @return the id the service gave the job
   */
  public String jobId() {
    return jobId;
  }

  /**
   * The handler that ran the job.
   *
   * @return its name
   */
  public String handler() {
    return handler;
  }

  /**
   * Why the job failed, as a stable code a program can branch on.
   *
   * @return {@code HANDLER_ERROR}, {@code WORKER_LOST}, {@code POISON}, {@code OUTPUT_TOO_LARGE}
   *     or another code the service documents
   */
  public String code() {
    return code;
  }

  /**
   * The class of the exception the handler threw.
   *
   * @return its fully qualified name; empty unless the code is {@code HANDLER_ERROR} and the
   *     handler threw
   */
  public Optional<String> handlerExceptionClass() {
    return exceptionClass.isEmpty() ? Optional.empty() : Optional.of(exceptionClass);
  }

  /**
   * The stack trace of the exception the handler threw, as the worker printed it (causes
   * included, cut to at most 16 KiB).
   *
   * @return the trace's text; empty unless the handler threw, or once the service has dropped the
   *     finished job's data
   */
  public String handlerStackTrace() {
    return stackTrace;
  }
}
