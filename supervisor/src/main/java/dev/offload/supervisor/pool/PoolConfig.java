package dev.offload.supervisor.pool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a pool of worker JVMs is started and looked after.
 *
 * @param workers how many worker processes the pool keeps (one job each at a time)
 * @param workerHeap the {@code -Xmx} of each worker, such as {@code 512m}; null for the JVM default
 * @param testHandlers whether workers offer the test-only handlers (crash)
 * @param startTimeout how long a worker may take from spawn to its ready line
 * @param cancelGrace how long a cancelled job may take to stop before its worker is killed
 * @param healthInterval how often each worker is pinged
 * @param healthTimeout how long a worker may leave pings unanswered before it is killed
 * @param java the {@code java} executable workers run on
 * @param classpath the class path of workers
 * @param jvmOptions further JVM options for workers
 */
public record PoolConfig(
    int workers,
    String workerHeap,
    boolean testHandlers,
    Duration startTimeout,
    Duration cancelGrace,
    Duration healthInterval,
    Duration healthTimeout,
    Path java,
    String classpath,
    List<String> jvmOptions) {

  public PoolConfig {
    if (workers < 1) {
      throw new IllegalArgumentException("a pool needs at least 1 worker, got " + workers);
    }
    Objects.requireNonNull(java, "java");
    Objects.requireNonNull(classpath, "classpath");
    jvmOptions = List.copyOf(jvmOptions);
  }

  /** One worker per core, on the Java and class path of this JVM. */
  public static PoolConfig defaults() {
    return new PoolConfig(
        Runtime.getRuntime().availableProcessors(),
        null,
        false,
        Duration.ofSeconds(30),
        Duration.ofSeconds(2),
        Duration.ofSeconds(2),
        Duration.ofSeconds(6),
        Path.of(System.getProperty("java.home"), "bin", "java"),
        System.getProperty("java.class.path"),
        List.of());
  }

  public PoolConfig withWorkers(int n) {
    return new PoolConfig(n, workerHeap, testHandlers, startTimeout, cancelGrace, healthInterval, healthTimeout, java, classpath, jvmOptions);
  }

  public PoolConfig withWorkerHeap(String heap) {
    return new PoolConfig(workers, heap, testHandlers, startTimeout, cancelGrace, healthInterval, healthTimeout, java, classpath, jvmOptions);
  }

  public PoolConfig withTestHandlers(boolean enabled) {
    return new PoolConfig(workers, workerHeap, enabled, startTimeout, cancelGrace, healthInterval, healthTimeout, java, classpath, jvmOptions);
  }

  public PoolConfig withCancelGrace(Duration grace) {
    return new PoolConfig(workers, workerHeap, testHandlers, startTimeout, grace, healthInterval, healthTimeout, java, classpath, jvmOptions);
  }

  public PoolConfig withHealthChecks(Duration interval, Duration timeout) {
    return new PoolConfig(workers, workerHeap, testHandlers, startTimeout, cancelGrace, interval, timeout, java, classpath, jvmOptions);
  }
}
