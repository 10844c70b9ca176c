package dev.offload.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.util.FileSize;
import dev.offload.supervisor.job.Job;
import dev.offload.worker.LogSetup;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.LoggerFactory;

/**
 * The CLI process logs through SLF4J into Logback ({@link LogSetup}): one short line each on
 * stderr, warnings only for client commands. {@code serve} turns offload's own lines up to its
 * {@code --log-level} and keeps them in a rotated file too. A client command sets Logback up only
 * if something in it logs through SLF4J, a private pool for one; until then {@link ClientLogging}
 * writes the same lines without it.
 */
final class Logging {

  /** The levels {@code --log-level} takes. */
  enum LogLevel {
    ERROR, WARN, INFO, DEBUG, TRACE
  }

  private Logging() {}

  /** A line as a client command writes it (ClientLogging's lines look the same). */
  private static final String PATTERN = "offload: %level: %msg%n";

  /** First thing in main for {@code serve}: Logback, before anything logs. */
  static void configure() {
    LogSetup.toStderr(PATTERN, Level.WARN, levels());
  }

  /** Sets up Logback's {@code context} as {@link #configure()} does, while SLF4J initializes. */
  static void configure(LoggerContext context) {
    LogSetup.configure(context, PATTERN, Level.WARN, levels());
  }

  private static Map<String, Level> levels() {
    // A client command that runs its jobs on a private pool reports their failures itself.
    return Map.of(Job.class.getName(), Level.ERROR);
  }

  /**
   * For the service: offload's own lines at {@code level} on stderr, and everything logged at that
   * level or above in {@code file} too, rotated daily and at 10 MB, 14 days and 200 MB kept. If
   * the file cannot be written, a warning says so once on {@code err}.
   *
   * @return how many lines could not be written to the file so far
   */
  static LongSupplier forService(LogLevel level, Path file, PrintWriter err) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.getLogger("dev.offload").setLevel(Level.toLevel(level.name()));
    context.getLogger(Job.class).setLevel(null); // a service logs job failures; see the config
    // A PostgreSQL store logs an outage once, and its end once; HikariCP would add a warning for
    // every connection it fails to check meanwhile. Its errors still show.
    context.getLogger("com.zaxxer.hikari").setLevel(Level.ERROR);
    LogFileAppender appender = fileAppender(context, file, err);
    context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(appender);
    return appender::failures;
  }

  /** The service's log file, rotated as {@link #forService} says, started in {@code context}. */
  static LogFileAppender fileAppender(LoggerContext context, Path file, PrintWriter err) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level %logger{36}: %msg%n%ex");
    encoder.start();

    LogFileAppender appender = new LogFileAppender(err);
    appender.setContext(context);
    appender.setName("state-dir");
    appender.setFile(file.toString());
    SizeAndTimeBasedRollingPolicy<ILoggingEvent> policy = new SizeAndTimeBasedRollingPolicy<>();
    policy.setContext(context);
    policy.setParent(appender);
    policy.setFileNamePattern(file.resolveSibling("offload.%d{yyyy-MM-dd}.%i.log.gz").toString());
    policy.setMaxFileSize(FileSize.valueOf("10MB"));
    policy.setMaxHistory(14);
    policy.setTotalSizeCap(FileSize.valueOf("200MB"));
    policy.start();
    appender.setRollingPolicy(policy);
    appender.setEncoder(encoder);
    appender.start();
    return appender;
  }
}
