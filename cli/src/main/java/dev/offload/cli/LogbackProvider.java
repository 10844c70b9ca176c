package dev.offload.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LogbackServiceProvider;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * SLF4J's provider in a client command ({@link ClientLogging} names it): Logback, set up as {@link
 * Logging#configure()} sets it up for the service, when SLF4J first initializes, which in a client
 * command happens only if something logs through SLF4J. Public only because SLF4J makes it by
 * reflection; not for use by other code.
 */
public final class LogbackProvider implements SLF4JServiceProvider {

  private final LogbackServiceProvider logback = new LogbackServiceProvider();

  /** Made by SLF4J, which finds it by name in the {@code slf4j.provider} system property. */
  public LogbackProvider() {}

  @Override
  public ILoggerFactory getLoggerFactory() {
    return logback.getLoggerFactory();
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return logback.getMarkerFactory();
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return logback.getMDCAdapter();
  }

  @Override
  public String getRequestedApiVersion() {
    return logback.getRequestedApiVersion();
  }

  @Override
  public void initialize() {
    logback.initialize();
    Logging.configure((LoggerContext) logback.getLoggerFactory());
  }
}
