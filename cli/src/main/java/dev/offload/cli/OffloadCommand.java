package dev.offload.cli;

import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The root command: no logic of its own, only the subcommands and the shared error handling.
 *
 * <p>The subcommands are added by {@link #newCommandLine}, not listed in the annotation: picocli
 * builds the model of every listed command up front, by reflection, before a JIT has compiled
 * anything, and that took longer than all of {@code offload run}'s other start-up work (≈ 0.5 s
 * for all fifteen against ≈ 0.25 s for one). A command line that names a command gets only that
 * one; help, completion (which are about the others) and anything unrecognized get them all.
 */
@Command(
    name = "offload",
    mixinStandardHelpOptions = true,
    versionProvider = OffloadCommand.Version.class,
    description = "Runs CPU-heavy Java jobs in a long-lived pool of worker JVMs.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:the job succeeded (or the command did what it was asked)",
      "1:the job FAILED, or did not succeed for another reason given",
      "2:usage error or invalid input, rejected before running",
      "3:no service answers, it is shutting down, or its queue is full",
      "4:the job was CANCELLED or TIMED_OUT",
      "129:stopped by SIGHUP (128 + the signal's number); run and batch cancel what they started",
      "130:interrupted by SIGINT (Ctrl-C)",
      "143:stopped by SIGTERM (kill, timeout)"
    })
public final class OffloadCommand implements Runnable {

  /** The root command; picocli fills in its spec. */
  public OffloadCommand() {}

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command; 'offload help' lists them");
  }

  /** Every subcommand, in the order {@code offload help} lists them. */
  private static final List<Supplier<Object>> COMMANDS = List.of(
      ServeCommand::new,
      RunCommand::new,
      BatchCommand::new,
      EachCommand::new,
      BenchCommand::new,
      SubmitCommand::new,
      StatusCommand::new,
      ResultCommand::new,
      CancelCommand::new,
      ListCommand::new,
      HandlersCommand::new,
      StatsCommand::new,
      TopCommand::new,
      ShutdownCommand::new,
      CompletionCommand::new,
      CommandLine.HelpCommand::new);

  /**
   * A command line with every subcommand and offload's error handling.
   *
   * @return a new command line
   */
  public static CommandLine newCommandLine() {
    return newCommandLine(COMMANDS);
  }

  /**
   * A command line for these arguments: only the subcommand they name, when they name one.
   *
   * @param args the arguments the command line will be given
   * @return a new command line
   */
  public static CommandLine newCommandLine(String[] args) {
    if (args.length > 0) {
      for (Supplier<Object> command : COMMANDS) {
        Object instance = command.get();
        boolean aboutOthers = instance instanceof CommandLine.HelpCommand || instance instanceof CompletionCommand;
        if (!aboutOthers && instance.getClass().getAnnotation(Command.class).name().equals(args[0])) {
          return newCommandLine(List.of(() -> instance));
        }
      }
    }
    return newCommandLine();
  }

  /** With offload's error handling: short messages, exit codes from {@link ExitCodes}. */
  private static CommandLine newCommandLine(List<Supplier<Object>> commands) {
    CommandLine cli = new CommandLine(new OffloadCommand());
    for (Supplier<Object> command : commands) {
      CommandLine sub = new CommandLine(command.get());
      // --help and --version on every subcommand, not only on the root.
      sub.getCommandSpec().mixinStandardHelpOptions(true);
      cli.addSubcommand(sub);
    }
    cli.setCaseInsensitiveEnumValuesAllowed(true); // --log-level debug; after the subcommands, which it reaches
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
