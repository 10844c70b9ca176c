package dev.offload.client;

/**
 * The service refused the job's input or options: the input is not JSON or is larger than the
 * service takes, or an option is out of range (more retries than the service allows, say), or its
 * idempotency key was given to another job already ({@link JobOptions#withIdempotencyKey}). The
 * service's message says which and what to do.
 */
public final class InvalidInputException extends JobRejectedException {

  private static final long serialVersionUID = 1L;

  InvalidInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
