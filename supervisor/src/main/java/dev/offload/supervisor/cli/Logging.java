package dev.offload.supervisor.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Log lines of the CLI process go to stderr, one line each, prefixed {@code offload:}. Client
 * commands show warnings only; {@code serve} shows offload's own info lines too.
 */
final class Logging {

  // JUL holds loggers weakly; these keep the levels set here from being forgotten.
  private static final Logger ROOT = Logger.getLogger("");
  private static final Logger OFFLOAD = Logger.getLogger("dev.offload");
  /** Netty warns once per Unix-socket channel that SO_KEEPALIVE, which gRPC sets, does not apply. */
  private static final Logger NETTY_BOOTSTRAP = Logger.getLogger("io.netty.bootstrap");

  private Logging() {}

  static void configure() {
    System.setProperty("java.util.logging.SimpleFormatter.format", "offload: %4$s: %5$s%6$s%n");
    LogManager.getLogManager().reset();
    ConsoleHandler stderr = new ConsoleHandler();
    stderr.setFormatter(new SimpleFormatter());
    stderr.setLevel(Level.ALL);
    ROOT.addHandler(stderr);
    ROOT.setLevel(Level.WARNING);
    NETTY_BOOTSTRAP.setLevel(Level.SEVERE);
  }

  /** For the service: offload's own info lines (start, shutdown, lost workers) too. */
  static void verbose() {
    OFFLOAD.setLevel(Level.INFO);
  }
}
