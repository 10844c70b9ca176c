package dev.offload.worker;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Sets up Logback, SLF4J's one backend here, in code: stderr with a pattern, a root level and
 * levels for named loggers. In code rather than in an XML file because Logback's XML
 * configurator cost each JVM about 0.4 s of start-up, and every worker and CLI command pays for
 * start-up. java.util.logging (gRPC's) is bridged in, its levels kept in step.
 */
public final class LogSetup {

  private LogSetup() {}

  /**
   * Replaces whatever configuration Logback has with this one. Call it first thing in main.
   *
   * @param pattern the Logback layout of a line
   * @param root the level of every logger not named in {@code levels}
   * @param levels the level of each logger named here, by logger name
   * @return Logback's context, so configured
   * @throws IllegalStateException if SLF4J does not log into Logback here (see {@link LogbackBinding#require})
   */
  public static LoggerContext toStderr(String pattern, Level root, Map<String, Level> levels) {
    LogbackBinding.require();
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    configure(context, pattern, root, levels);
    return context;
  }

  /**
   * Replaces whatever configuration {@code context} has with the one {@link #toStderr} makes. For
   * a caller that holds Logback's context before SLF4J hands it out, such as an SLF4J provider
   * setting Logback up while SLF4J initializes (when {@link LoggerFactory} cannot be asked yet).
   *
   * @param context Logback's context
   * @param pattern the Logback layout of a line
   * @param root the level of every logger not named in {@code levels}
   * @param levels the level of each logger named here, by logger name
   */
  public static void configure(LoggerContext context, String pattern, Level root, Map<String, Level> levels) {
    context.reset();

    LevelChangePropagator julLevels = new LevelChangePropagator();
    julLevels.setContext(context);
    julLevels.setResetJUL(true);
    julLevels.start();
    context.addListener(julLevels);

    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(pattern);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("stderr");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();

    ch.qos.logback.classic.Logger rootLogger = context.getLogger(Logger.ROOT_LOGGER_NAME);
    rootLogger.setLevel(root);
    rootLogger.addAppender(stderr);
    levels.forEach((name, level) -> context.getLogger(name).setLevel(level));

    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
  }
}
