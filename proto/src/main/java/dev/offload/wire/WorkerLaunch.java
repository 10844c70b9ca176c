package dev.offload.wire;

/**
 * How a supervisor starts a worker JVM and reads its exit: the main class, the system properties
 * it sets, and the exit status and log line of a worker that refused to start. The ready line is
 * {@link Handshake}'s. Names are spelled out rather than taken from the worker's classes, because
 * the supervisor does not have the worker on its class path (the worker's tests check that they
 * agree).
 */
public final class WorkerLaunch {

  /** The worker's main class. */
  public static final String MAIN_CLASS = "dev.offload.worker.WorkerMain";

  /**
   * Logback's SLF4J provider. A worker logs with Logback whatever else is on its class path (a
   * worker given an application's class path may carry another SLF4J backend first), so its
   * supervisor names the provider in the system property {@code slf4j.provider}, which SLF4J 2.0.9
   * and later load instead of looking for providers.
   */
  public static final String LOGGING_PROVIDER = "ch.qos.logback.classic.spi.LogbackServiceProvider";

  /** The level of offload's own lines and of the jobs' loggers in a worker. */
  public static final String LOG_LEVEL_PROPERTY = "offload.log.level";

  /** The most output, in UTF-8 bytes, a job may produce. */
  public static final String MAX_OUTPUT_PROPERTY = "offload.worker.maxOutputBytes";

  /** The exit status of a worker that refused to start. */
  public static final int EXIT_CANNOT_START = 2;

  /** How the log line that says why a worker refused to start begins. */
  public static final String REFUSAL = "offload worker: ";

  private WorkerLaunch() {}
}
