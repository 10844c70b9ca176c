package dev.offload.cli;

import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Logging for every command but {@code serve}, without Logback: a client command's whole run is
 * shorter than Logback's set-up (some 200 classes, a tenth of a second of {@code offload run}), and
 * what it logs, if anything, is a rare warning from gRPC or Netty. Those go through
 * java.util.logging, gRPC's own, as one line each on stderr, as {@link Logging} writes them.
 *
 * <p>Logback is still set up the moment anything logs through SLF4J (a private pool, whose
 * supervisor does): {@link LogbackProvider} is named as SLF4J's provider, and it sets Logback up as
 * {@link Logging#configure()} does, which then takes java.util.logging's lines too. Without it,
 * Logback would set itself up with its defaults, debug lines on stdout among the command's output.
 */
final class ClientLogging {

  /** {@link LogbackProvider}'s name, written out: {@code LogbackProvider.class} would load it. */
  static final String PROVIDER = "dev.offload.cli.LogbackProvider";

  private ClientLogging() {}

  /**
   * First thing for a client command, on {@link ClientWarmUp}'s thread: before any Netty or gRPC
   * class is initialized.
   */
  static void configure() {
    // SLF4J 2.0.9 and later read this when they initialize, which a client command may never do.
    System.setProperty("slf4j.provider", PROVIDER);
    // ...and would then say on stderr that they found it there, which is no news.
    System.setProperty("slf4j.internal.verbosity", "WARN");
    // Netty logs through SLF4J when it is on the class path, which would set Logback up for
    // nothing: through java.util.logging it writes the lines that gRPC's go with.
    InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    root.setLevel(Level.WARNING);
    ConsoleHandler stderr = new ConsoleHandler();
    stderr.setLevel(Level.ALL);
    stderr.setFormatter(new OneLine());
    root.addHandler(stderr);
  }

  /** {@code offload: WARN: message}, as Logback's pattern in {@link Logging} writes it, and any stack trace after. */
  static final class OneLine extends Formatter {
    @Override
    public String format(LogRecord record) {
      int level = record.getLevel().intValue();
      String name = level >= Level.SEVERE.intValue() ? "ERROR"
          : level >= Level.WARNING.intValue() ? "WARN"
          : level >= Level.INFO.intValue() ? "INFO"
          : level >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
      StringBuilder line = new StringBuilder("offload: ").append(name).append(": ").append(formatMessage(record)).append(System.lineSeparator());
      if (record.getThrown() != null) {
        StringWriter trace = new StringWriter();
        record.getThrown().printStackTrace(new PrintWriter(trace));
        line.append(trace);
      }
      return line.toString();
    }
  }
}
