package dev.offload.client;

/**
 * Where a job is in its life. A job moves {@code QUEUED -> RUNNING ->} one terminal state, or
 * {@code QUEUED -> CANCELLED}, and never leaves a terminal state.
 */
public enum JobState {
  /** Accepted and waiting for an idle worker. */
  QUEUED,
  /** On a worker, which runs it now. */
  RUNNING,
  /** The handler returned an output. Terminal. */
  SUCCEEDED,
  /** The handler threw, or its worker was lost. Terminal. */
  FAILED,
  /** Cancelled by a client or by the service's shutdown. Terminal. */
  CANCELLED,
  /** Ran past its timeout or deadline and was stopped. Terminal. */
  TIMED_OUT;

  /**
   * Whether the job has ended in this state.
   *
   * @return true for SUCCEEDED, FAILED, CANCELLED and TIMED_OUT
   */
  public boolean isTerminal() {
    return this != QUEUED && this != RUNNING;
  }

  /** The state of a job record from the wire. */
  static JobState of(dev.offload.proto.v1.JobState wire) {
    return switch (wire) {
      case QUEUED -> QUEUED;
      case RUNNING -> RUNNING;
      case SUCCEEDED -> SUCCEEDED;
      case FAILED -> FAILED;
      case CANCELLED -> CANCELLED;
      case TIMED_OUT -> TIMED_OUT;
      case JOB_STATE_UNSPECIFIED, UNRECOGNIZED ->
          throw new OffloadException("the service sent a job state this client does not know (" + wire
              + "); use an offload-client of the service's version");
    };
  }
}
