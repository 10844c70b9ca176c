package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class OffloadCommandTest {

  private static final List<String> ALL = OffloadCommand.COMMANDS.stream().map(OffloadCommand.Subcommand::name).toList();

  @Test
  void everySubcommand_isListedUnderTheNameItsClassDeclares() {
    for (OffloadCommand.Subcommand command : OffloadCommand.COMMANDS) {
      assertEquals(command.type().getAnnotation(Command.class).name(), command.name(), command.type().getName());
    }
  }

  @Test
  void aCommandLineNamingACommand_buildsOnlyThatOne() {
    assertEquals(List.of("run"), names(OffloadCommand.newCommandLine(new String[] {"run", "echo", "1"})));
    assertEquals(List.of("serve"), names(OffloadCommand.newCommandLine(new String[] {"serve", "--help"})));
  }

  @Test
  void versionAlone_buildsNoSubcommand() {
    assertEquals(List.of(), names(OffloadCommand.newCommandLine(new String[] {"--version"})));
    assertEquals(List.of(), names(OffloadCommand.newCommandLine(new String[] {"-V"})));
  }

  @Test
  void helpCompletionNothingAndUnknownCommands_buildThemAll() {
    for (String[] args : List.of(new String[] {}, new String[] {"--help"}, new String[] {"help"}, new String[] {"help", "run"},
        new String[] {"completion", "bash"}, new String[] {"frob"}, new String[] {"--version", "run"})) {
      assertEquals(ALL, names(OffloadCommand.newCommandLine(args)), String.join(" ", args));
    }
  }

  @Test
  void help_listsEveryCommand() {
    CommandLine cli = OffloadCommand.newCommandLine(new String[] {"--help"});
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    assertEquals(0, cli.execute("--help"));
    for (String name : ALL) {
      assertTrue(out.toString().contains("\n  " + name + " "), name + " is missing from:\n" + out);
    }
  }

  @Test
  void version_printsOffloadsAndJavasVersion() {
    CommandLine cli = OffloadCommand.newCommandLine(new String[] {"--version"});
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    assertEquals(0, cli.execute("--version"));
    assertTrue(out.toString().startsWith("offload "), out.toString());
    assertTrue(out.toString().contains("Java " + Runtime.version()), out.toString());
  }

  @Test
  void noOptionNeedsAConverterTheCommandLineLeavesOut() {
    CommandLine cli = OffloadCommand.newCommandLine();
    assertEquals(OffloadCommand.UNUSED_CONVERTERS, System.getProperty(OffloadCommand.CONVERTER_EXCLUDES));
    List<String> needing = new ArrayList<>();
    collectArgsNeedingExcludedConverters(cli, needing);
    assertEquals(List.of(), needing, "these options need a converter of their own (the built-in ones for java.time and java.sql are left out)");
  }

  private static void collectArgsNeedingExcludedConverters(CommandLine cli, List<String> needing) {
    for (CommandLine.Model.ArgSpec arg : cli.getCommandSpec().args()) {
      boolean ownConverter = arg.converters().length > 0;
      for (Class<?> type : arg.auxiliaryTypes()) {
        String name = type.getName();
        if (!ownConverter && (name.startsWith("java.time.") || name.startsWith("java.sql."))) {
          needing.add(cli.getCommandName() + " " + arg.paramLabel() + " (" + name + ")");
        }
      }
    }
    for (CommandLine sub : cli.getSubcommands().values()) {
      collectArgsNeedingExcludedConverters(sub, needing);
    }
  }

  @Test
  void clientLogging_namesTheLogbackProvider() {
    assertEquals(LogbackProvider.class.getName(), ClientLogging.PROVIDER);
  }

  @Test
  void clientLogging_writesOneLineAsLogbacksPatternDoes_withTheStackTraceAfter() {
    ClientLogging.OneLine format = new ClientLogging.OneLine();
    assertEquals("offload: WARN: the channel closed" + System.lineSeparator(),
        format.format(new LogRecord(Level.WARNING, "the channel closed")));
    LogRecord failure = new LogRecord(Level.SEVERE, "could not {0}");
    failure.setParameters(new Object[] {"connect"});
    failure.setThrown(new IllegalStateException("no socket"));
    String line = format.format(failure);
    assertTrue(line.startsWith("offload: ERROR: could not connect" + System.lineSeparator() + "java.lang.IllegalStateException: no socket"), line);
  }

  private static List<String> names(CommandLine cli) {
    return List.copyOf(cli.getSubcommands().keySet());
  }
}
