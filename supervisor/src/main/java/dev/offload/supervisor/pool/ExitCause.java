package dev.offload.supervisor.pool;

import java.util.Map;

/** Says why a worker process ended, from its exit status and its log. */
final class ExitCause {

  private static final Map<Integer, String> SIGNALS =
      Map.of(1, "SIGHUP", 2, "SIGINT", 3, "SIGQUIT", 6, "SIGABRT", 9, "SIGKILL", 11, "SIGSEGV", 15, "SIGTERM");

  /** The status {@code -XX:+ExitOnOutOfMemoryError} exits with. */
  private static final int OUT_OF_MEMORY_STATUS = 3;

  private ExitCause() {}

  static WorkerLoss of(int status, WorkerLog log) {
    if (status == OUT_OF_MEMORY_STATUS && log.tail(20).stream().anyMatch(l -> l.contains("OutOfMemoryError"))) {
      return new WorkerLoss(RestartCause.OUT_OF_MEMORY, "ran out of memory (exit status 3); give workers more heap with --worker-heap");
    }
    if (status > 128) {
      int signal = status - 128;
      return new WorkerLoss(RestartCause.SIGNAL, "was killed by signal " + signal + " (" + SIGNALS.getOrDefault(signal, "SIG" + signal) + ")");
    }
    return new WorkerLoss(RestartCause.EXITED, "exited with status " + status);
  }
}
