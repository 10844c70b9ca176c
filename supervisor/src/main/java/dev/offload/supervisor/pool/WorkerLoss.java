package dev.offload.supervisor.pool;

/**
 * Why a worker process ended: the cause metrics count, and the words people read in job errors,
 * logs and stats, such as "was killed by signal 9 (SIGKILL)".
 */
public record WorkerLoss(RestartCause cause, String words) {

  /** Whether the supervisor ended the worker itself. */
  public boolean deliberate() {
    return cause == RestartCause.KILLED_BY_SUPERVISOR;
  }
}
