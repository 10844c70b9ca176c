package dev.offload.cli;

import dev.offload.client.OffloadClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.InfoCmp;
import org.jline.utils.NonBlockingReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code offload top}: what {@code stats} shows, redrawn every interval, like top. On a terminal
 * it takes the screen and quits on {@code q} or Ctrl-C, leaving the terminal as it found it
 * (JLine does the raw mode and the key reading). Anywhere else it prints plain snapshots, one
 * after another, each under a time line: by default one, or {@code -n} of them.
 */
@Command(name = "top", description = "A live view of the workers, queue, throughput and job times; q or Ctrl-C quits.")
final class TopCommand implements Callable<Integer> {

  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
  private static final int CTRL_C = 3;

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
      description = "Time between refreshes (default: ${DEFAULT-VALUE}).")
  Duration interval;

  @Option(names = {"-n", "--iterations"}, paramLabel = "N",
      description = "Stop after N refreshes (default: until q on a terminal, 1 elsewhere).")
  Integer iterations;

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (interval.compareTo(Duration.ofMillis(100)) < 0) {
      throw new ParameterException(spec.commandLine(), "--interval must be 100ms or more, got " + DurationConverter.format(interval.toMillis()));
    }
    if (iterations != null && iterations < 1) {
      throw new ParameterException(spec.commandLine(), "-n must be 1 or more, got " + iterations);
    }
    try (OffloadClient client = server.connect()) {
      if (Boolean.getBoolean("offload.stdout.tty")) {
        live(client);
      } else {
        plain(client);
      }
    }
    return ExitCodes.OK;
  }

  private void plain(OffloadClient client) throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    int count = iterations == null ? 1 : iterations;
    for (int i = 0; i < count; i++) {
      if (i > 0) {
        Thread.sleep(interval);
        out.println();
      }
      out.println(snapshot(client));
      out.flush();
    }
  }

  private void live(OffloadClient client) throws IOException {
    try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
      Attributes original = terminal.enterRawMode();
      // Ctrl-C must end the loop here, so that the terminal is restored below, rather than end the
      // JVM with the terminal still raw: with signals off, it arrives as a key like q.
      Attributes raw = terminal.getAttributes();
      raw.setLocalFlag(Attributes.LocalFlag.ISIG, false);
      terminal.setAttributes(raw);
      NonBlockingReader keys = terminal.reader();
      // The alternate screen, as top and less use it: the user's own screen comes back on quit.
      terminal.puts(InfoCmp.Capability.enter_ca_mode);
      try {
        for (int i = 0; iterations == null || i < iterations; i++) {
          terminal.puts(InfoCmp.Capability.clear_screen);
          terminal.writer().print(snapshot(client)); // raw mode keeps output processing: \n is a new line
          terminal.writer().print("\nq to quit");
          terminal.flush();
          int key = keys.read(interval.toMillis());
          if (key == 'q' || key == 'Q' || key == CTRL_C || key == NonBlockingReader.EOF) {
            break;
          }
        }
      } finally {
        terminal.setAttributes(original);
        terminal.puts(InfoCmp.Capability.exit_ca_mode);
        terminal.flush();
      }
    }
  }

  private String snapshot(OffloadClient client) {
    StringWriter text = new StringWriter();
    PrintWriter out = new PrintWriter(text);
    out.printf("offload top at %s, %s, every %s%n%n", client.target().orElseThrow(), CLOCK.format(LocalTime.now().truncatedTo(ChronoUnit.SECONDS)),
        DurationConverter.format(interval.toMillis()));
    StatsView.print(client.wire().poolStatus(), out);
    out.flush();
    return text.toString().stripTrailing();
  }
}
