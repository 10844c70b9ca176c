package dev.offload.cli;

/** The {@code offload} command; {@code scripts/offload} execs the JVM with this class. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    Logging.configure();
    System.exit(OffloadCommand.newCommandLine(args).execute(args));
  }
}
