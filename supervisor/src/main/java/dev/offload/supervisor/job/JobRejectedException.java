package dev.offload.supervisor.job;

/** A submission the dispatcher refused; the message says why and what to do. */
public final class JobRejectedException extends Exception {

  /** Why a job was refused. */
  public enum Reason {
    QUEUE_FULL,
    SHUTTING_DOWN
  }

  private final Reason reason;

  public JobRejectedException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
