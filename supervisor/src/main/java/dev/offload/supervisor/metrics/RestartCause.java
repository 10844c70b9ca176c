package dev.offload.supervisor.metrics;

/**
 * The few kinds of worker replacement, as metric labels: the pool's causes are sentences with pids
 * and statuses in them, and a label must take few values.
 */
final class RestartCause {

  private RestartCause() {}

  static String of(String cause) {
    if (cause.contains("retired")) {
      return "retired"; // --max-jobs-per-worker or --max-worker-rss
    }
    if (cause.contains("out of memory")) {
      return "out_of_memory";
    }
    if (cause.contains("stopped by the supervisor")) {
      return "killed_by_supervisor"; // a cancel or deadline not obeyed, or no answer to health checks
    }
    if (cause.contains("killed by signal")) {
      return "signal";
    }
    if (cause.contains("exited with status")) {
      return "exited";
    }
    return "other";
  }
}
