package dev.offload.supervisor.pool;

import java.util.Locale;

/** Why a slot's worker was replaced, as metrics count it ({@link #label}). */
public enum RestartCause {
  /** It exited by itself (a handler called System.exit, say). */
  EXITED,
  /** A signal from outside the supervisor ended it. */
  SIGNAL,
  /** It ran out of heap. */
  OUT_OF_MEMORY,
  /**
   * The supervisor killed it: a job that did not stop within its cancel grace, no answer to
   * health checks, or its control stream ended.
   */
  KILLED_BY_SUPERVISOR,
  /** Healthy, but due for replacement (--max-jobs-per-worker, --max-worker-rss). */
  RETIRED;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
