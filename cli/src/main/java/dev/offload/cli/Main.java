package dev.offload.cli;

/** The {@code offload} command; {@code scripts/offload} execs the JVM with this class. */
public final class Main {

  private Main() {}

  /**
   * Runs the {@code offload} command and exits with its exit code (see {@link ExitCodes}).
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("serve")) {
      Logging.configure();
    } else {
      ClientLogging.configure();
    }
    System.exit(OffloadCommand.newCommandLine(args).execute(args));
  }
}
