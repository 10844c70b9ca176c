package dev.offload.worker;

import dev.offload.wire.WorkerLaunch;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Whether SLF4J logs into Logback in this JVM, told without touching a Logback class (its code
 * names none, as the JVM may load the classes a class names when it verifies it), so that a JVM
 * without Logback, or with another SLF4J backend bound, learns so from {@link #require} rather
 * than from a {@link NoClassDefFoundError} or a {@link ClassCastException} in {@link LogSetup}.
 */
public final class LogbackBinding {

  private static final String LOGGER_CONTEXT = "ch.qos.logback.classic.LoggerContext";

  private LogbackBinding() {}

  /**
   * Returns if SLF4J logs into Logback here.
   *
   * @throws IllegalStateException if Logback is not on the class path or SLF4J is bound to another
   *     backend; the message names it and says what to do
   */
  public static void require() {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (factory.getClass().getName().equals(LOGGER_CONTEXT)) {
      return;
    }
    boolean present;
    try {
      Class.forName(LOGGER_CONTEXT, false, LogbackBinding.class.getClassLoader());
      present = true;
    } catch (ClassNotFoundException | LinkageError e) {
      present = false;
    }
    throw new IllegalStateException(present
        ? "SLF4J logs into " + factory.getClass().getName() + " here, not into Logback, which this JVM sets up; start it"
            + " with -Dslf4j.provider=" + WorkerLaunch.LOGGING_PROVIDER + " (SLF4J 2.0.9 or later reads it), as a supervisor does for its workers"
        : "Logback (logback-classic) is not on the class path, and this JVM logs with it; add logback-classic to its class"
            + " path (for workers: PoolConfig's classpath)");
  }
}
