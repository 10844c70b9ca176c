package dev.offload.supervisor;

import ch.qos.logback.classic.Level;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.worker.LogSetup;
import dev.offload.wire.WorkerLaunch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An application that embeds a pool with every logger at its most verbose (Logback's root at
 * TRACE, java.util.logging at FINEST through the bridge, the workers' own lines at TRACE), for
 * {@link EmbeddedLoggingIT}: it runs a few jobs, closes the pool and exits 0. Its log is its
 * stderr; the workers' logs go to the directory given as the one argument.
 */
final class VerboseEmbeddingApp {

  private VerboseEmbeddingApp() {}

  public static void main(String[] args) throws Exception {
    LogSetup.toStderr("%level %logger: %msg%n", Level.TRACE, Map.of());
    PoolConfig defaults = PoolConfig.defaults();
    List<String> workerOptions = new ArrayList<>(defaults.jvmOptions());
    workerOptions.add("-D" + WorkerLaunch.LOG_LEVEL_PROPERTY + "=TRACE");
    PoolConfig pool = defaults.toBuilder().workers(1).logDir(Path.of(args[0])).jvmOptions(workerOptions).build();
    try (ProcessPool offloader = ProcessPool.start(SupervisorConfig.defaults().withPool(pool))) {
      offloader.runJson("is_prime", "7");
      offloader.runJson("echo", "[1, 2]");
    }
  }
}
