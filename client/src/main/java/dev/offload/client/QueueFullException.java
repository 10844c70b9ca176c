package dev.offload.client;

/**
 * The service's queue is full ({@code offload serve --max-queue}): the job was not accepted. It is
 * safe to submit it again later; a program that submits faster than the pool runs should bound
 * its jobs in flight (a {@link java.util.concurrent.Semaphore}, or {@code offload batch}).
 */
public final class QueueFullException extends JobRejectedException {

  private static final long serialVersionUID = 1L;

  QueueFullException(String message, Throwable cause) {
    super(message, cause);
  }
}
