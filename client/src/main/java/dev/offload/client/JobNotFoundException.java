package dev.offload.client;

/**
 * The service holds no job with the id given: it never had it, or has forgotten it (a service
 * keeps a bounded number of finished jobs, the oldest expire first).
 */
public final class JobNotFoundException extends OffloadException {

  private static final long serialVersionUID = 1L;

  JobNotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
