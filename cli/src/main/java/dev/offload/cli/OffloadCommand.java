package dev.offload.cli;

import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The root command: no logic of its own, only the subcommands and the shared error handling.
 *
 * <p>The subcommands are added by {@link #newCommandLine}, not listed in the annotation: picocli
 * builds the model of every listed command up front, by reflection, before a JIT has compiled
 * anything, and that took longer than all of {@code offload run}'s other start-up work (≈ 0.5 s
 * for all fifteen against ≈ 0.25 s for one). A command line that names a command gets only that
 * one, {@code --version} none; help, completion (which are about the others) and anything
 * unrecognized get them all.
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

  /**
   * A subcommand: the name it is called by, and its class, which picocli makes an instance of
   * only if the command line needs it. The name is written here as well as in the class's
   * {@code Command} annotation so that finding the one command a command line names costs neither an
   * instance nor a look at an annotation (nor a method reference, whose linkage would load and
   * verify every command class with all the classes they name); a test checks that the two
   * agree. Adding a subcommand is one line in {@link #COMMANDS}.
   */
  record Subcommand(String name, Class<?> type) {}

  /** Every subcommand, in the order {@code offload help} lists them. */
  static final List<Subcommand> COMMANDS = List.of(
      new Subcommand("serve", ServeCommand.class),
      new Subcommand("run", RunCommand.class),
      new Subcommand("batch", BatchCommand.class),
      new Subcommand("each", EachCommand.class),
      new Subcommand("bench", BenchCommand.class),
      new Subcommand("submit", SubmitCommand.class),
      new Subcommand("status", StatusCommand.class),
      new Subcommand("result", ResultCommand.class),
      new Subcommand("cancel", CancelCommand.class),
      new Subcommand("list", ListCommand.class),
      new Subcommand("handlers", HandlersCommand.class),
      new Subcommand("stats", StatsCommand.class),
      new Subcommand("top", TopCommand.class),
      new Subcommand("shutdown", ShutdownCommand.class),
      new Subcommand("completion", CompletionCommand.class),
      new Subcommand("help", CommandLine.HelpCommand.class));

  /** The commands about the others: they need every command's model. */
  private static final Set<String> ABOUT_OTHERS = Set.of("help", "completion");

  /**
   * A command line with every subcommand and offload's error handling.
   *
   * @return a new command line
   */
  public static CommandLine newCommandLine() {
    return newCommandLine(COMMANDS);
  }

  /**
   * A command line for these arguments, with the models of only the commands they need: the one
   * subcommand they name; none for {@code --version} alone; all of them for help, completion,
   * and anything else (so that an unknown command is reported with the list of known ones).
   *
   * @param args the arguments the command line will be given
   * @return a new command line
   */
  public static CommandLine newCommandLine(String[] args) {
    if (versionOnly(args)) {
      return newCommandLine(List.of());
    }
    if (args.length > 0 && !ABOUT_OTHERS.contains(args[0])) {
      for (Subcommand command : COMMANDS) {
        if (command.name().equals(args[0])) {
          return newCommandLine(List.of(command));
        }
      }
    }
    return newCommandLine();
  }

  /** Whether the arguments ask for the version and nothing else, which needs no subcommand. */
  static boolean versionOnly(String[] args) {
    return args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"));
  }

  /**
   * picocli's system property naming the built-in converters it should not set up, as regular
   * expressions of their types' class names.
   */
  static final String CONVERTER_EXCLUDES = "picocli.converters.excludes";

  /**
   * The built-in converters no option here uses. picocli sets up one for every java.time and
   * java.sql type on each command line it makes, each found by reflection and its class
   * initialized (java.time's build formatters and compile patterns): 7 ms of every command's
   * start. Durations have {@link DurationConverter}; a test checks that no option needs these.
   */
  static final String UNUSED_CONVERTERS = "java\\.time\\..*,java\\.sql\\..*";

  /** With offload's error handling: short messages, exit codes from {@link ExitCodes}. */
  private static CommandLine newCommandLine(List<Subcommand> commands) {
    if (System.getProperty(CONVERTER_EXCLUDES) == null) {
      System.setProperty(CONVERTER_EXCLUDES, UNUSED_CONVERTERS);
    }
    CommandLine cli = new CommandLine(new OffloadCommand());
    for (Subcommand command : commands) {
      CommandLine sub = new CommandLine(command.type());
      // --help and --version on every subcommand, not only on the root.
      sub.getCommandSpec().mixinStandardHelpOptions(true);
      cli.addSubcommand(command.name(), sub);
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
