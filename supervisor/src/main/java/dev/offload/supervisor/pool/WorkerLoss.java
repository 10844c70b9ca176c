package dev.offload.supervisor.pool;

import java.util.Locale;

/**
 * Why a worker process ended: its kind, which metrics count by, and the words people read (in
 * job errors, logs and stats), such as "was killed by signal 9 (SIGKILL)".
 */
public record WorkerLoss(Cause cause, String words) {

  /** Why a slot's worker was replaced; {@link #label} names it in metrics. */
  public enum Cause {
    /** It exited by itself (a handler called System.exit, say). */
    EXITED,
    /** A signal from outside the supervisor ended it. */
    SIGNAL,
    /** It ran out of heap. */
    OUT_OF_MEMORY,
    /** The supervisor killed it: a cancel or deadline not obeyed, or no answer to health checks. */
    KILLED_BY_SUPERVISOR,
    /** Healthy, but due for replacement (--max-jobs-per-worker, --max-worker-rss); not a loss. */
    RETIRED;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Whether the supervisor ended the worker itself. */
  public boolean deliberate() {
    return cause == Cause.KILLED_BY_SUPERVISOR;
  }
}
