package dev.offload.testing;

import dev.offload.cli.OffloadCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs the offload CLI in this JVM, capturing what it prints. */
public final class Cli {

  /** What one command did. */
  public record Result(int exitCode, String out, String err) {}

  private Cli() {}

  public static Result run(String... args) {
    CommandLine cli = OffloadCommand.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }
}
