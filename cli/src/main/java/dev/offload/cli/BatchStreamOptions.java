package dev.offload.cli;

import dev.offload.supervisor.pool.PoolConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The options of every command that runs its jobs over one {@code RunBatch} stream ({@code batch}, {@code each}). */
final class BatchStreamOptions {

  @Option(names = "--max-in-flight", paramLabel = "N", defaultValue = "256", description = "Jobs outstanding at most (default: ${DEFAULT-VALUE}).")
  int maxInFlight;

  @Option(names = "--progress", paramLabel = "WHEN", defaultValue = "auto", description = "Progress bar on stderr: auto (when stderr is a terminal), always, never.")
  BatchProgress.Mode progressMode;

  @Option(names = "--workers", paramLabel = "N", description = "Workers of the private pool, when no service is running (default: one per core).")
  Integer workers;

  /**
   * Checks the numbers.
   *
   * @throws ParameterException if one is below 1
   */
  void validate(CommandSpec spec) {
    if (maxInFlight < 1) {
      throw new ParameterException(spec.commandLine(), "--max-in-flight must be 1 or more, got " + maxInFlight);
    }
    if (workers != null && workers < 1) {
      throw new ParameterException(spec.commandLine(), "--workers must be 1 or more, got " + workers);
    }
  }

  /** The private pool to start when no service answers: --workers of them, else one per core. */
  PoolConfig privatePool() {
    PoolConfig.Builder pool = PoolConfig.defaults().toBuilder();
    if (workers != null) {
      pool.workers(workers);
    }
    return pool.build();
  }
}
