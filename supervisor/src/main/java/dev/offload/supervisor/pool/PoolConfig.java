package dev.offload.supervisor.pool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * How a pool of worker JVMs is started and looked after. Build one with {@link #defaults()} and
 * {@link #toBuilder()}.
 *
 * @param workers how many worker processes the pool keeps (one job each at a time)
 * @param workerHeap the {@code -Xmx} of each worker, such as {@code 512m}; null for the JVM default
 * @param testHandlers whether workers offer the test-only handlers (crash)
 * @param handlerJars plugin jars whose handlers workers offer besides the built-in ones, or
 *     directories whose {@code *.jar} files are all taken; expanded once, when the pool starts,
 *     so that every worker (replacements too) loads the same jars
 * @param startTimeout how long a worker may take from spawn to its ready line
 * @param cancelGrace how long a cancelled job may take to stop before its worker is killed
 * @param healthInterval how often each worker is pinged (and its memory sampled)
 * @param healthTimeout how long a worker may leave pings unanswered before it is killed
 * @param maxJobsPerWorker retire a worker after this many jobs; 0 for never
 * @param maxWorkerRssBytes retire a worker, between jobs, once its resident memory exceeds this;
 *     0 for never
 * @param maxOutputBytes the most output (UTF-8 bytes of JSON) a job may produce; a job that
 *     produces more ends FAILED with OUTPUT_TOO_LARGE
 * @param logDir where workers' logs are kept (see {@link WorkerLogs}); null to keep them in the
 *     pool's temporary directory, gone when the pool closes
 * @param java the {@code java} executable workers run on (see {@link Builder#java})
 * @param classpath the class path of workers (see {@link Builder#classpath}); null for the worker
 *     distribution that offload-supervisor carries
 * @param jvmOptions further JVM options for workers
 */
public record PoolConfig(
    int workers,
    String workerHeap,
    boolean testHandlers,
    List<Path> handlerJars,
    Duration startTimeout,
    Duration cancelGrace,
    Duration healthInterval,
    Duration healthTimeout,
    long maxJobsPerWorker,
    long maxWorkerRssBytes,
    long maxOutputBytes,
    Path logDir,
    Path java,
    String classpath,
    List<String> jvmOptions) {

  /**
   * Checks the settings.
   *
   * @throws IllegalArgumentException if one is out of range; the message names it
   */
  public PoolConfig {
    if (workers < 1) {
      throw new IllegalArgumentException("a pool needs at least 1 worker, got " + workers);
    }
    if (maxOutputBytes < 1) {
      throw new IllegalArgumentException("the output limit must be at least 1 byte, got " + maxOutputBytes);
    }
    if (healthTimeout.compareTo(healthInterval) <= 0) {
      throw new IllegalArgumentException("the health timeout (" + healthTimeout.toMillis() + " ms) must be longer than the"
          + " interval between health checks (" + healthInterval.toMillis() + " ms)");
    }
    Objects.requireNonNull(java, "java");
    handlerJars = List.copyOf(handlerJars);
    jvmOptions = List.copyOf(jvmOptions);
  }

  /** The default output limit: 16 MiB. */
  public static final long DEFAULT_MAX_OUTPUT_BYTES = 16L << 20;

  /** One worker per core, on the Java of this JVM and the worker's own class path. */
  public static PoolConfig defaults() {
    return new PoolConfig(
        Runtime.getRuntime().availableProcessors(),
        null,
        false,
        List.of(),
        Duration.ofSeconds(30),
        Duration.ofSeconds(2),
        Duration.ofSeconds(2),
        Duration.ofSeconds(6),
        0,
        0,
        DEFAULT_MAX_OUTPUT_BYTES,
        null,
        Path.of(System.getProperty("java.home"), "bin", "java"),
        null,
        Stream.concat(nettyOptions().stream(), ClassDataSharing.workerOptions().stream()).toList());
  }

  /**
   * What Netty's start-up costs a worker, cut where it buys nothing (each measured on JDK 25):
   *
   * <ul>
   *   <li>On JDK 23+, Netty shuns sun.misc.Unsafe unless its memory access is allowed, and frees
   *       direct buffers through the FFM linker instead, whose set-up costs every worker about 300
   *       classes and the bytecode it spins at start. The default workers run on this JVM's JDK, so
   *       its version decides; the option does not exist before 23.
   *   <li>Netty 4.2 reports its buffer allocations as JFR events wherever JFR is available, and
   *       the first allocation sets up JFR's event metadata even when nothing records: about 110
   *       classes and 0.1 s of CPU per worker, right when the supervisor connects (a pool of 2 on
   *       2 cores was ready in 1.05 s without it, 1.23 s with it).
   * </ul>
   */
  private static List<String> nettyOptions() {
    List<String> options = new ArrayList<>();
    if (Runtime.version().feature() >= 23) {
      options.add("--sun-misc-unsafe-memory-access=allow");
    }
    options.add("-Dio.netty.jfr.enabled=false");
    return List.copyOf(options);
  }

  /** A builder that starts from this config's settings. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Changes some settings of a config and leaves the rest. */
  public static final class Builder {
    private int workers;
    private String workerHeap;
    private boolean testHandlers;
    private List<Path> handlerJars;
    private Duration startTimeout;
    private Duration cancelGrace;
    private Duration healthInterval;
    private Duration healthTimeout;
    private long maxJobsPerWorker;
    private long maxWorkerRssBytes;
    private long maxOutputBytes;
    private Path logDir;
    private Path java;
    private String classpath;
    private List<String> jvmOptions;

    private Builder(PoolConfig c) {
      workers = c.workers;
      workerHeap = c.workerHeap;
      testHandlers = c.testHandlers;
      handlerJars = c.handlerJars;
      startTimeout = c.startTimeout;
      cancelGrace = c.cancelGrace;
      healthInterval = c.healthInterval;
      healthTimeout = c.healthTimeout;
      maxJobsPerWorker = c.maxJobsPerWorker;
      maxWorkerRssBytes = c.maxWorkerRssBytes;
      maxOutputBytes = c.maxOutputBytes;
      logDir = c.logDir;
      java = c.java;
      classpath = c.classpath;
      jvmOptions = c.jvmOptions;
    }

    /** How many worker processes the pool keeps; at least 1. */
    public Builder workers(int n) {
      workers = n;
      return this;
    }

    /** Each worker's {@code -Xmx}, such as {@code 512m}; null (the default) for the JVM's own. */
    public Builder workerHeap(String heap) {
      workerHeap = heap;
      return this;
    }

    /** Whether workers offer the test-only handlers (crash); off by default. */
    public Builder testHandlers(boolean enabled) {
      testHandlers = enabled;
      return this;
    }

    /** Plugin jars, or directories of them, whose handlers workers offer; none by default. */
    public Builder handlerJars(List<Path> paths) {
      handlerJars = paths;
      return this;
    }

    /** How long a worker may take from spawn to ready before its start counts as failed. */
    public Builder startTimeout(Duration timeout) {
      startTimeout = timeout;
      return this;
    }

    /** How long a cancelled or timed-out job may take to stop before its worker is killed. */
    public Builder cancelGrace(Duration grace) {
      cancelGrace = grace;
      return this;
    }

    /** How often workers are pinged, and how long one may stay silent before it is killed. */
    public Builder healthChecks(Duration interval, Duration timeout) {
      healthInterval = interval;
      healthTimeout = timeout;
      return this;
    }

    /** Retire a worker after this many jobs; 0 (the default) for never. */
    public Builder maxJobsPerWorker(long n) {
      maxJobsPerWorker = n;
      return this;
    }

    /** Retire a worker, between jobs, once its resident memory exceeds this; 0 (the default) for never. */
    public Builder maxWorkerRssBytes(long bytes) {
      maxWorkerRssBytes = bytes;
      return this;
    }

    /** The most output (UTF-8 bytes of JSON) a job may produce; more ends it FAILED with OUTPUT_TOO_LARGE. */
    public Builder maxOutputBytes(long bytes) {
      maxOutputBytes = bytes;
      return this;
    }

    /** Where to keep workers' logs across restarts; null (the default) for the pool's temporary directory. */
    public Builder logDir(Path dir) {
      logDir = dir;
      return this;
    }

    /**
     * The {@code java} executable workers run on; by default this JVM's. It must become the worker
     * process itself (a JVM's launcher, or a script that ends by {@code exec}-ing one): a worker
     * serves only its parent process. A JDK other than this JVM's ignores the class-data-sharing
     * archive made for this one, and its workers start more slowly.
     */
    public Builder java(Path executable) {
      java = executable;
      return this;
    }

    /**
     * The class path of workers, entries joined with {@link java.io.File#pathSeparator}. By default
     * (null) workers run on the worker distribution packed into offload-supervisor, extracted once
     * into the user's cache directory: the worker, the SDK, their libraries and Logback, and never
     * this JVM's class path. A class path given here must hold the worker ({@code offload-worker})
     * and its runtime libraries, Logback included: a worker logs with Logback whatever other SLF4J
     * backend the class path carries, and one without Logback refuses to start, saying so. Handler
     * jars go to {@link #handlerJars}, not here.
     */
    public Builder classpath(String classpath) {
      this.classpath = classpath;
      return this;
    }

    /** JVM options for workers, in place of those of {@link PoolConfig#defaults()}. */
    public Builder jvmOptions(List<String> options) {
      jvmOptions = options;
      return this;
    }

    /** The config, checked as {@link PoolConfig} checks it. */
    public PoolConfig build() {
      return new PoolConfig(workers, workerHeap, testHandlers, handlerJars, startTimeout, cancelGrace, healthInterval,
          healthTimeout, maxJobsPerWorker, maxWorkerRssBytes, maxOutputBytes, logDir, java, classpath, jvmOptions);
    }
  }
}
