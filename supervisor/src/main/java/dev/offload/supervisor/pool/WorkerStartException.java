package dev.offload.supervisor.pool;

/** A worker JVM could not be started or did not become ready; the message says why. */
public final class WorkerStartException extends Exception {
  public WorkerStartException(String message) {
    super(message);
  }
}
