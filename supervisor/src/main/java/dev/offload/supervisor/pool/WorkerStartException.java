package dev.offload.supervisor.pool;

/** A worker JVM could not be started or did not become ready; the message says why. */
public final class WorkerStartException extends Exception {
  /**
   * A worker that could not start, and why.
   *
   * @param message why, with what the worker's log says, if anything
   */
  public WorkerStartException(String message) {
    super(message);
  }
}
