package dev.offload.client;

/**
 * Something went wrong between this program and the offload service, or with a job: the base of
 * every exception this package throws, except {@link JobCancelledException} (which, as {@link
 * java.util.concurrent.Future} has it, is a {@link java.util.concurrent.CancellationException}).
 * The message says what happened and, where it helps, what to do; it carries the service's own
 * message when the service gave one. Catch a subclass to act on a particular case.
 */
public class OffloadException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * An exception with this message.
   *
   * @param message what happened and what to do
   */
  public OffloadException(String message) {
    super(message);
  }

  /**
   * An exception with this message and cause.
   *
   * @param message what happened and what to do
   * @param cause the underlying failure, for the stack trace
   */
  public OffloadException(String message, Throwable cause) {
    super(message, cause);
  }
}
