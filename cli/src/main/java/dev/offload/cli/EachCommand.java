package dev.offload.cli;

import dev.offload.client.BatchCall;
import dev.offload.proto.v1.SubmitJobRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Stack;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IParameterConsumer;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code offload each}: one job per argument, in GNU parallel's manner, for shell scripts. The
 * arguments come from stdin, one a line (or NUL-separated), or after {@code :::}; each job's input
 * is made by an {@link EachTemplate}. The jobs travel over one {@code RunBatch} stream with a
 * bounded window, as {@code batch}'s do ({@link BatchSession}), and stdin is read as it goes, so a
 * million arguments run in bounded memory.
 *
 * <p>Its exit status is parallel's: the number of jobs that did not succeed, 1 to 100, or 101 for
 * more; 0 when all succeeded; {@value #ERROR} for any other error, so that no count is taken for
 * one of offload's own exit codes; 128 + its number for a signal.
 */
@Command(name = "each", exitCodeOnInvalidInput = EachCommand.ERROR,
    description = {
      "Run HANDLER once per argument, GNU parallel style: the arguments are stdin's lines (-0: NUL-separated), or those"
          + " after :::. Each job's input is INPUT_TEMPLATE, JSON in which {}, {.}, {/}, {//}, {/.} and {#} inside strings"
          + " are replaced by the argument, JSON-escaped; with no template, the argument itself (a JSON number when it is"
          + " one, else a JSON string). Prints each job's output JSON, one a line.",
      "Exit status: the number of jobs that did not succeed (1-100; 101 for more), 0 if all succeeded, 255 for any other"
          + " error, 130 on Ctrl-C."
    })
final class EachCommand implements Callable<Integer> {

  /** The exit status of any error that is not a job's: {@link ExitCodes#EACH_ERROR}. */
  static final int ERROR = ExitCodes.EACH_ERROR;

  /** Between a template and the arguments, as in parallel. */
  static final String ARGUMENTS = ":::";

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;
  @Mixin BatchStreamOptions stream;
  @Mixin JobLimits limits;

  @Parameters(paramLabel = "HANDLER [INPUT_TEMPLATE] [::: ARG...]", arity = "1..*", parameterConsumer = Words.class,
      description = "The handler, the input template (see above), and the arguments after ::: (everything after ::: is an"
          + " argument, options too); with no :::, the arguments are read from stdin.")
  List<String> words = new ArrayList<>();

  @Option(names = {"-0", "--null"}, description = "The arguments on stdin end with a NUL byte instead of a line end (find -print0).")
  boolean nul;

  @Option(names = {"-k", "--keep-order"}, description = "Write the outputs in input order (held back at most --max-in-flight at a time) instead of as jobs end.")
  boolean keepOrder;

  @Option(names = "--tag", description = "Start each output line with its argument and a tab.")
  boolean tag;

  @Option(names = "--joblog", paramLabel = "FILE", description = "Log every job that ends in FILE, in GNU parallel's joblog format.")
  Path joblog;

  @Option(names = "--resume", description = "With --joblog: skip the jobs FILE logs already (by sequence number), and append to it.")
  boolean resume;

  @Option(names = "--resume-failed", description = "With --joblog: run again the jobs FILE logs with a nonzero Exitval, skip those that succeeded, run the rest, and append.")
  boolean resumeFailed;

  @Option(names = "--halt", paramLabel = "WHEN", defaultValue = "never", converter = Halt.Converter.class,
      description = "never (default); now,fail=N: after N failed jobs cancel the jobs in flight and stop; soon,fail=N: after N"
          + " failed jobs start no more, and let those in flight end.")
  Halt halt;


  /**
   * Takes positional words one at a time, so that options may stand between them, until {@value
   * #ARGUMENTS}: every word after it is an argument, one that starts with a dash too, as in parallel.
   */
  static final class Words implements IParameterConsumer {
    @Override
    public void consumeParameters(Stack<String> args, ArgSpec argSpec, CommandSpec commandSpec) {
      List<String> words = argSpec.getValue();
      if (words == null) {
        words = new ArrayList<>();
        argSpec.setValue(words);
      }
      String word = args.pop();
      words.add(word);
      if (word.equals(ARGUMENTS)) {
        while (!args.isEmpty()) {
          words.add(args.pop());
        }
      }
    }
  }

  @Override
  public Integer call() {
    try {
      return execute();
    } catch (ParameterException e) {
      throw e;
    } catch (CliException e) {
      throw e.exitCode() == ERROR ? e : new CliException(ERROR, e.getMessage());
    } catch (StatusRuntimeException e) {
      Status status = e.getStatus();
      throw new CliException(ERROR, status.getDescription() == null ? status.getCode().name() : status.getDescription());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ERROR, "interrupted");
    } catch (RuntimeException e) {
      // Any other exit status than ERROR would read as a count of failed jobs.
      e.printStackTrace(spec.commandLine().getErr());
      throw new CliException(ERROR, "unexpected error: " + e);
    }
  }

  private int execute() throws InterruptedException {
    Parsed parsed = parseWords();
    validate();
    SubmitJobRequest base = limits.applyTo(SubmitJobRequest.newBuilder().setHandler(parsed.handler())).build();
    JobLog log = openLog();
    try (Arguments arguments = parsed.arguments() == null ? Arguments.of(new BatchInput(System.in, nul)) : Arguments.of(parsed.arguments());
        ServiceConnection connection = ServiceConnection.open(server, stream.privatePool(), spec.commandLine().getErr())) {
      return run(connection, arguments, parsed, base, log, parsed.arguments() == null ? -1 : parsed.arguments().size());
    } catch (IOException e) {
      throw new CliException(ERROR, e.getMessage());
    } finally {
      closeLog(log);
    }
  }

  /** The handler, the template, and the arguments after ::: (null when they come from stdin). */
  private record Parsed(String handler, EachTemplate template, List<String> arguments) {}

  private Parsed parseWords() {
    String handler = words.get(0);
    if (handler.equals(ARGUMENTS)) {
      throw new ParameterException(spec.commandLine(), "name the HANDLER before " + ARGUMENTS
          + ", for example: offload each is_prime ::: 7 8 9");
    }
    int next = 1;
    EachTemplate template = EachTemplate.none();
    if (words.size() > next && !words.get(next).equals(ARGUMENTS)) {
      try {
        template = EachTemplate.parse(words.get(next));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      next++;
    }
    if (words.size() == next) {
      return new Parsed(handler, template, null);
    }
    if (!words.get(next).equals(ARGUMENTS)) {
      throw new ParameterException(spec.commandLine(), "unexpected word '" + words.get(next) + "' after INPUT_TEMPLATE;"
          + " arguments come after " + ARGUMENTS + " (offload each HANDLER [INPUT_TEMPLATE] ::: ARG...), or from stdin");
    }
    return new Parsed(handler, template, List.copyOf(words.subList(next + 1, words.size())));
  }

  private void validate() {
    if ((resume || resumeFailed) && joblog == null) {
      throw new ParameterException(spec.commandLine(), (resume ? "--resume" : "--resume-failed")
          + " needs --joblog FILE: it reads which jobs an earlier run logged there");
    }
    stream.validate(spec);
  }

  /**
   * Runs the jobs over one {@link BatchSession} and returns the exit status.
   *
   * @param total the number of arguments, or -1 when they come from stdin
   */
  private int run(ServiceConnection connection, Arguments arguments, Parsed parsed, SubmitJobRequest base, JobLog log,
      long total) throws InterruptedException {
    BatchSession session = new BatchSession("each");
    AtomicBoolean halting = new AtomicBoolean(); // --halt soon: no more jobs start
    AtomicReference<String> logFailure = new AtomicReference<>();
    PrintWriter err = spec.commandLine().getErr();
    EachOutput output = new EachOutput(spec.commandLine().getOut(), err, keepOrder, tag, log, parsed.handler(),
        connection.describe(), seq -> session.call().release(), e -> {
          if (logFailure.compareAndSet(null, "cannot write the joblog " + log.path() + ": " + e.getMessage())) {
            session.stop("the joblog cannot be written");
          }
        });
    StatusRuntimeException failure;
    try (BatchProgress progress = BatchProgress.of(stream.progressMode, "each", () -> total)) {
      Sending with = new Sending(session, output, progress, halting);
      failure = session.run(connection.client(), stream.maxInFlight, false, result -> {
        if (result.hasAccepted()) {
          return; // not asked for: acknowledgements come only to a stream that sets acknowledge
        }
        boolean success = output.result(result);
        progress.step(output.failed());
        if (!success) {
          halt(with);
        }
      }, call -> sendAll(call, arguments, parsed.template(), base, log, with));
    } finally {
      output.close();
    }
    String done = output.succeeded() + " succeeded, " + output.failed() + " did not";
    if (session.inputFailure() instanceof IOException e) {
      throw new CliException(ERROR, "cannot read the arguments from stdin: " + e.getMessage() + "; " + done);
    }
    if (session.inputFailure() != null) {
      throw new IllegalStateException("reading the arguments failed", session.inputFailure());
    }
    if (logFailure.get() != null) {
      throw new CliException(ERROR, logFailure.get() + "; " + done);
    }
    if (failure != null) {
      Status status = failure.getStatus();
      throw new CliException(ERROR, "the batch stream to " + connection.describe() + " ended before its jobs did ("
          + status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()) + "); " + done
          + (joblog == null ? "" : "; " + joblog + " logs the jobs that ended: run again with --joblog " + joblog
              + " --resume to run the others"));
    }
    if (session.signal() != 0) {
      err.println("offload: each interrupted: " + done + (joblog == null ? ""
          : "; run again with --joblog " + joblog + " --resume to run the jobs it does not log"));
      err.flush();
      return ExitCodes.forSignal(session.signal());
    }
    if (output.failed() > 0) {
      err.println("offload: each: " + done + (session.stopped() || halting.get() ? " (--halt " + halt + ": stopped early)" : ""));
      err.flush();
    }
    return ExitCodes.forFailedJobs(output.failed());
  }

  /** What the reading thread and the result thread share. */
  private record Sending(BatchSession session, EachOutput output, BatchProgress progress, AtomicBoolean halting) {}

  /**
   * Reads argument after argument, each taking a window slot, and sends its job; a job an earlier
   * run logged (with --resume; with --resume-failed, one that succeeded) is skipped.
   */
  private void sendAll(BatchCall call, Arguments arguments, EachTemplate template, SubmitJobRequest base, JobLog log,
      Sending with) throws IOException, InterruptedException {
    JobLog.Earlier earlier = log == null ? JobLog.Earlier.none() : log.earlier();
    BitSet skipped = resumeFailed ? earlier.succeeded() : earlier.logged();
    BatchInput.Line next;
    while (!with.session().stopped() && !with.halting().get() && (next = arguments.next()) != null) {
      long seq = next.number();
      call.acquire();
      if (with.halting().get()) {
        call.release();
        break;
      }
      if (seq <= Integer.MAX_VALUE && skipped.get((int) seq)) {
        with.output().skip(seq);
        continue;
      }
      if (next.text() == null) {
        notRun(with, seq, "(not UTF-8)", "(not sent)", ExitCodes.USAGE, Status.Code.INVALID_ARGUMENT, "argument " + seq
            + " is not UTF-8 text (a file name in another encoding?), and JSON holds only Unicode text; rename it");
        continue;
      }
      String input = template.render(next.text(), seq);
      SubmitJobRequest request = base.toBuilder().setInputJson(input).build();
      String key = Long.toString(seq);
      String refusal = call.refusal(key, request);
      if (refusal != null) {
        // Sent, it would end the stream and every other job's result with it.
        notRun(with, seq, next.text(), input, ExitCodes.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED, refusal);
        continue;
      }
      with.output().sent(seq, next.text(), input);
      call.send(key, request);
    }
    if (!with.session().stopped()) {
      call.finish();
    }
  }

  private void notRun(Sending with, long seq, String argument, String input, int exitval, Status.Code code, String why) {
    with.output().notRun(seq, argument, input, exitval, code.name(), why);
    with.progress().step(with.output().failed());
    halt(with);
  }

  /** After a job that did not succeed: --halt stops here once enough have failed. */
  private void halt(Sending with) {
    if (halt.failures() == 0 || with.output().failed() < halt.failures()) {
      return;
    }
    if (halt.now()) {
      with.session().stop("--halt " + halt + ": " + with.output().failed() + " jobs failed");
    } else {
      with.halting().set(true);
    }
  }

  private JobLog openLog() {
    if (joblog == null) {
      return null;
    }
    try {
      return JobLog.open(joblog, resume || resumeFailed);
    } catch (IOException e) {
      throw new CliException(ERROR, "cannot use the joblog " + joblog + ": " + e);
    } catch (IllegalArgumentException e) {
      throw new CliException(ERROR, e.getMessage());
    }
  }

  private static void closeLog(JobLog log) {
    if (log == null) {
      return;
    }
    try {
      log.close();
    } catch (IOException e) {
      throw new CliException(ERROR, "cannot write the joblog " + log.path() + ": " + e.getMessage());
    }
  }

  /** Where the arguments come from: stdin, read as it goes, or the words after :::. */
  interface Arguments extends AutoCloseable {

    /** The next argument, numbered from 1, or null after the last. */
    BatchInput.Line next() throws IOException;

    @Override
    void close() throws IOException;

    static Arguments of(BatchInput input) {
      return new Arguments() {
        @Override
        public BatchInput.Line next() throws IOException {
          return input.next();
        }

        @Override
        public void close() throws IOException {
          input.close();
        }
      };
    }

    static Arguments of(List<String> words) {
      return new Arguments() {
        private int next;

        @Override
        public BatchInput.Line next() {
          if (next == words.size()) {
            return null;
          }
          next++;
          return new BatchInput.Line(next, words.get(next - 1), null);
        }

        @Override
        public void close() {}
      };
    }
  }

  /**
   * parallel's {@code --halt}: never, or after {@code failures} failed jobs, {@code now} (cancel the
   * jobs in flight) or soon (start no more).
   */
  record Halt(boolean now, int failures) {

    @Override
    public String toString() {
      return failures == 0 ? "never" : (now ? "now" : "soon") + ",fail=" + failures;
    }

    /** Reads parallel's spelling: {@code never}, {@code now,fail=N}, {@code soon,fail=N}. */
    static final class Converter implements CommandLine.ITypeConverter<Halt> {
      @Override
      public Halt convert(String value) {
        if (value.equals("never")) {
          return new Halt(false, 0);
        }
        String[] parts = value.split(",", -1);
        if (parts.length == 2 && (parts[0].equals("now") || parts[0].equals("soon")) && parts[1].startsWith("fail=")) {
          try {
            int failures = Integer.parseInt(parts[1].substring("fail=".length()));
            if (failures >= 1) {
              return new Halt(parts[0].equals("now"), failures);
            }
          } catch (NumberFormatException e) {
            // told below
          }
        }
        throw new CommandLine.TypeConversionException("'" + value + "' is not a --halt this command knows: write never,"
            + " now,fail=N (cancel the jobs in flight after N failures) or soon,fail=N (start no more after N failures),"
            + " with N a whole number of 1 or more");
      }
    }
  }
}
