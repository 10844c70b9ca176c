package dev.offload.cli;

import picocli.CommandLine;

/** The {@code offload} command; {@code scripts/offload} execs the JVM with this class. */
public final class Main {

  private Main() {}

  /**
   * Runs the {@code offload} command and exits with its exit code (see {@link ExitCodes}).
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    if (OffloadCommand.versionOnly(args)) {
      // The lines picocli prints for --version, without building its model of the command (by
      // reflection, most of this command's time). Nothing here logs, nor starts a thread: no
      // logging set-up (java.util.logging's looks through every jar for a System.LoggerFinder),
      // and no System.exit, which would look for one to log the exit with.
      for (String line : new OffloadCommand.Version().getVersion()) {
        System.out.println(line);
      }
      return;
    }
    CommandLine cli;
    if (args.length > 0 && args[0].equals("serve")) {
      Logging.configure();
      cli = OffloadCommand.newCommandLine(args);
    } else {
      // A client command: logging and the classes of its connection get ready on a second thread
      // while picocli builds its model, and the command runs (picocli's default, RunLast) once they are.
      ClientWarmUp warmUp = ClientWarmUp.start();
      cli = OffloadCommand.newCommandLine(args);
      cli.setExecutionStrategy(parsed -> {
        warmUp.await();
        return new CommandLine.RunLast().execute(parsed);
      });
    }
    System.exit(cli.execute(args));
  }
}
