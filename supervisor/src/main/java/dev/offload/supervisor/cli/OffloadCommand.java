package dev.offload.supervisor.cli;

import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command: no logic of its own, only the subcommands and the shared error handling. */
@Command(
    name = "offload",
    mixinStandardHelpOptions = true,
    versionProvider = OffloadCommand.Version.class,
    description = "Runs CPU-heavy Java jobs in a long-lived pool of worker JVMs.",
    subcommands = {
      ServeCommand.class,
      RunCommand.class,
      BatchCommand.class,
      BenchCommand.class,
      SubmitCommand.class,
      StatusCommand.class,
      ResultCommand.class,
      CancelCommand.class,
      ListCommand.class,
      HandlersCommand.class,
      StatsCommand.class,
      ShutdownCommand.class,
      CompletionCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:the job succeeded (or the command did what it was asked)",
      "1:the job FAILED, or did not succeed for another reason given",
      "2:usage error or invalid input, rejected before running",
      "3:no service answers, it is shutting down, or its queue is full",
      "4:the job was CANCELLED or TIMED_OUT",
      "130:interrupted (Ctrl-C)"
    })
public final class OffloadCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command; 'offload help' lists them");
  }

  /** A command line with offload's error handling: short messages, exit codes from {@link ExitCodes}. */
  public static CommandLine newCommandLine() {
    CommandLine cli = new CommandLine(new OffloadCommand());
    // --help and --version on every subcommand, not only on the root.
    cli.getSubcommands().values().forEach(sub -> sub.getCommandSpec().mixinStandardHelpOptions(true));
    cli.setExecutionExceptionHandler(OffloadCommand::handle);
    return cli;
  }

  private static int handle(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
    PrintWriter err = cli.getErr();
    int code;
    if (e instanceof CliException failure) {
      err.println("offload: " + failure.getMessage());
      code = failure.exitCode();
    } else if (e instanceof StatusRuntimeException status) {
      String description = status.getStatus().getDescription();
      err.println("offload: " + (description != null ? description : status.getStatus().getCode().toString()));
      code = ExitCodes.forStatus(status.getStatus().getCode());
    } else {
      err.println("offload: unexpected error: " + e);
      e.printStackTrace(err);
      code = ExitCodes.FAILED;
    }
    err.flush();
    return code;
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = OffloadCommand.class.getPackage().getImplementationVersion();
      return new String[] {
        "offload " + (version == null ? "(development build)" : version),
        "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"
      };
    }
  }
}
