package dev.offload.supervisor.job;

import java.util.HashMap;
import java.util.Map;

/**
 * How long each handler's jobs have run lately: the figure the {@link Dispatcher} uses to decide
 * whether a worker may be sent a job before its current one ends.
 *
 * <p>The estimate is a moving average that moves an eighth of the way to each new run time: one
 * long job lifts it far enough to stop sending ahead for a while (a 100 ms job among 10 µs ones
 * lifts it past 12 ms), while a short job that was merely descheduled for a millisecond barely
 * moves it. A handler with no finished job yet has no estimate. Not thread-safe: the
 * dispatcher's lock guards it.
 */
final class RunTimeEstimates {

  /** What {@link #nanos} says of a handler it knows nothing about. */
  static final long UNKNOWN = Long.MAX_VALUE;

  private final Map<String, Long> nanosByHandler = new HashMap<>();

  void record(String handler, long runNanos) {
    nanosByHandler.merge(handler, runNanos, (estimate, latest) -> estimate + (latest - estimate) / 8);
  }

  /** The expected run time of this handler's next job, or {@link #UNKNOWN}. */
  long nanos(String handler) {
    return nanosByHandler.getOrDefault(handler, UNKNOWN);
  }
}
