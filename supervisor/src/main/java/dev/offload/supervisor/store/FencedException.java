package dev.offload.supervisor.store;

/**
 * A write about a job that this service no longer holds: its lease expired, and another service
 * took the job over ({@link SharedStore}). The write changed nothing; what the job became is the
 * other service's to say.
 */
public final class FencedException extends StoreException {

  public FencedException(String message) {
    super(message);
  }
}
