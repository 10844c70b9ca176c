package dev.offload.client;

/**
 * The service refused a job before running it: nothing ran, and submitting the same job again
 * will be refused again unless something changes (see the subclasses). The message is the
 * service's.
 */
public sealed class JobRejectedException extends OffloadException
    permits UnknownHandlerException, InvalidInputException, QueueFullException {

  private static final long serialVersionUID = 1L;

  JobRejectedException(String message, Throwable cause) {
    super(message, cause);
  }
}
