package dev.offload.cli;

import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.JobState;
import dev.offload.client.BatchCall;
import dev.offload.client.OffloadClient;
import dev.offload.wire.RefusalTrailers;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code offload batch}: every line of a JSON Lines file is a job; every job gets one result line.
 * The file is read as it goes and the jobs travel over one stream with a bounded window, so a file
 * of any length runs in bounded memory on both sides.
 */
@Command(name = "batch", description = "Run a JSON Lines file of jobs and write one result line per input line.")
final class BatchCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;
  @Mixin BatchStreamOptions stream;

  @Parameters(paramLabel = "FILE|-", description = "The jobs, one JSON object a line: {\"id\", \"handler\", \"input\", \"timeout\", \"deadline\", \"retries\"}; - reads stdin.")
  String input;

  @Option(names = "--output", paramLabel = "FILE", description = "Write results to FILE instead of stdout.")
  Path output;

  @Option(names = "--ordered", description = "Write results in input order (a bounded reorder window) instead of as jobs end.")
  boolean ordered;

  @Option(names = "--fail-fast", description = "Stop at the first line that does not succeed, cancelling what is in flight.")
  boolean failFast;

  @Option(names = "--resume", description = "With --output: skip ids that already SUCCEEDED in FILE (or whose job the service lost with no retries left), fetch by job id the results of lines FILE.pending names (accepted, not answered), send the other lines again with the idempotency keys of the earlier run (so a line the service had accepted is not run twice), and append the new results.")
  boolean resume;


  @Override
  public Integer call() throws InterruptedException {
    validate();
    ResumeLog.Settled done = resumedIds();
    try (BatchInput lines = open();
        PrintWriter out = results();
        ServiceConnection connection = ServiceConnection.open(server, stream.privatePool(), spec.commandLine().getErr());
        PendingLog pending = pendingLog()) {
      return run(connection, lines, out, done, pending);
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, e.getMessage());
    }
  }

  /** Runs the batch over one {@link BatchSession}: a thread reads and sends the lines while this one waits. */
  private int run(ServiceConnection connection, BatchInput lines, PrintWriter out, ResumeLog.Settled done, PendingLog pending)
      throws InterruptedException {
    BatchSession session = new BatchSession("batch");
    // Why the batch stopped on this side before its end (a pending line that cannot be fetched,
    // a journal that cannot be written); null while nothing did.
    AtomicReference<String> fetchFailure = new AtomicReference<>();
    Consumer<IOException> journalFailed = e -> {
      if (fetchFailure.compareAndSet(null, "cannot write " + pending.path() + ", the batch's pending journal: " + e.getMessage())) {
        session.stop("the pending journal cannot be written");
      }
    };
    BatchOutput results = new BatchOutput(out, ordered, line -> {
      session.call().release();
      answered(pending, line, journalFailed);
    });
    boolean acknowledge = pending != null && durable(connection);
    Map<String, String> idsByKey = new ConcurrentHashMap<>();
    StatusRuntimeException failure;
    try (BatchProgress progress = progress()) {
      failure = session.run(connection.client(), stream.maxInFlight, acknowledge, result -> {
        if (result.hasAccepted()) {
          accepted(pending, result, idsByKey, journalFailed);
          return;
        }
        boolean success = record(result, idsByKey, results);
        progress.step(results.unsuccessful());
        if (!success && failFast) {
          session.stop("--fail-fast: a job did not succeed");
        }
      }, call -> sendAll(lines, new Sending(call, connection, results, idsByKey, done, pending, session, progress, fetchFailure)));
    } finally {
      results.close();
    }
    Throwable inputFailure = session.inputFailure();
    if (inputFailure instanceof IOException e) {
      throw new CliException(ExitCodes.FAILED, "cannot read the batch input " + input + ": " + e.getMessage());
    }
    if (inputFailure != null) {
      throw new IllegalStateException("reading the batch input failed", inputFailure);
    }
    if (fetchFailure.get() != null) {
      throw new CliException(ExitCodes.UNAVAILABLE, fetchFailure.get() + "; " + (results.succeeded() + results.unsuccessful())
          + " results are written; run the batch again with --output FILE --resume to fetch the others");
    }
    if (failure != null) {
      throw streamFailed(failure, connection, results, pending);
    }
    if (pending != null && !session.stopped()) {
      pending.complete(); // every line is answered: a later --resume has nothing to find by key
    }
    var err = spec.commandLine().getErr();
    err.printf("offload: batch %s: %d succeeded, %d did not%n", session.signal() != 0 ? "interrupted" : "done",
        results.succeeded(), results.unsuccessful());
    err.flush();
    if (session.signal() != 0) {
      return ExitCodes.forSignal(session.signal());
    }
    return results.unsuccessful() > 0 ? ExitCodes.FAILED : ExitCodes.OK;
  }

  /** What the reading thread works with. */
  private record Sending(BatchCall call, ServiceConnection connection, BatchOutput results, Map<String, String> idsByKey,
      ResumeLog.Settled done, PendingLog pending, BatchSession session, BatchProgress progress,
      AtomicReference<String> fetchFailure) {}

  /**
   * Reads line after line, each taking a window slot; stops early when the batch is stopped. A
   * line that an earlier run left pending is not sent: its job's result is fetched by id.
   *
   * @throws StatusRuntimeException if the call ends while it waits for a slot
   */
  private void sendAll(BatchInput lines, Sending with) throws IOException, InterruptedException {
    BatchCall call = with.call();
    BatchOutput results = with.results();
    List<Thread> fetches = new ArrayList<>();
    BatchInput.Line next;
    while (!with.session().stopped() && (next = lines.next()) != null) {
      long number = next.number();
      call.acquire();
      if (next.text() != null && next.text().isBlank()) {
        results.skip(number);
        continue;
      }
      BatchLine line = next.text() == null ? BatchLine.unreadable(number, next.notUtf8()) : BatchLine.parse(number, next.text());
      if (line.invalid() != null) {
        notRun(results, with.progress(), with.session(), line, BatchOutput.INVALID, Status.Code.INVALID_ARGUMENT, line.invalid());
        continue;
      }
      if (with.done().contains(line.id())) {
        if (with.done().lost().contains(line.id())) {
          results.skipNotSucceeded(number);
          with.progress().step(results.unsuccessful());
        } else {
          results.skip(number);
        }
        continue;
      }
      PendingLog.Entry earlier = with.pending() == null ? null : with.pending().resumed().get(number);
      if (earlier != null && earlier.id().equals(line.id())) {
        fetches.add(Thread.ofVirtual().name("offload-batch-fetch-" + earlier.job()).start(() -> fetch(earlier, with)));
        continue;
      }
      String key = Long.toString(number);
      // With --output, each line's job carries a key made from the batch's id (kept in
      // FILE.pending): a line sent again by --resume after its acknowledgement was lost is then
      // answered with the job the service holds, instead of running again.
      SubmitJobRequest request = with.pending() == null ? line.request()
          : line.request().toBuilder().setIdempotencyKey(with.pending().key(number, with.done().triesOf(number))).build();
      String refusal = call.refusal(key, request);
      if (refusal != null) {
        // Sent, it would end the stream and every other line's result with it.
        notRun(results, with.progress(), with.session(), line, BatchOutput.REJECTED, Status.Code.RESOURCE_EXHAUSTED,
            "line " + number + ": " + refusal);
        continue;
      }
      with.idsByKey().put(key, line.id());
      call.send(key, request);
    }
    // The stream ends once its own jobs are answered; the fetched ones must be written before.
    for (Thread fetch : fetches) {
      fetch.join();
    }
    if (!with.session().stopped()) {
      call.finish();
    }
  }

  /**
   * Fetches the result of a line an earlier run left pending, waiting for its job's end, and
   * writes it. A job the service does not know (pruned, or a service whose store kept nothing) is
   * written {@link BatchOutput#LOST} and not run again: it may have run. Any other failure stops
   * the batch with the line still pending.
   */
  private void fetch(PendingLog.Entry earlier, Sending with) {
    BatchOutput results = with.results();
    boolean success;
    try {
      Job job = with.connection().client().wire().watch(earlier.job(), event -> {});
      results.job(earlier.line(), earlier.id(), job);
      success = job.getState() == JobState.SUCCEEDED;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
        if (with.fetchFailure().compareAndSet(null, "cannot fetch the result of line " + earlier.line() + " (job "
            + earlier.job() + ") from " + with.connection().describe() + ": " + e.getStatus().getCode()
            + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription())
            + "; the line stays pending in " + with.pending().path())) {
          with.session().stop("a pending line's result could not be fetched");
        }
        return;
      }
      results.notRun(earlier.line(), earlier.id(), BatchOutput.LOST, Status.Code.NOT_FOUND.name(), "line " + earlier.line()
          + ": the service accepted it as job " + earlier.job() + " before the earlier run was cut off, but "
          + with.connection().describe() + " no longer knows that job (finished jobs past serve --keep-finished are"
          + " pruned; a service with --store memory: keeps nothing across a restart); the line was not run again, as"
          + " it may have run; a later --resume runs it again, as it does every line that did not succeed");
      success = false;
    }
    with.progress().step(results.unsuccessful());
    if (!success && failFast) {
      with.session().stop("--fail-fast: a job did not succeed");
    }
  }

  /** Writes the result of a line that does not run; with --fail-fast it stops the batch. */
  private void notRun(BatchOutput results, BatchProgress progress, BatchSession session, BatchLine line,
      String state, Status.Code code, String message) {
    results.notRun(line.number(), line.id(), state, code.name(), message);
    progress.step(results.unsuccessful());
    if (failFast) {
      session.stop("--fail-fast: line " + line.number() + " did not run");
    }
  }

  /**
   * The error for a call that ended before the batch did (the service gone, say): the results
   * received are written, and a run with --resume finishes the batch.
   */
  private static CliException streamFailed(StatusRuntimeException failure, ServiceConnection connection, BatchOutput results,
      PendingLog pending) {
    Status status = failure.getStatus();
    if (RefusalTrailers.KEPT_QUEUED.equals(failure.getTrailers() == null ? null : failure.getTrailers().get(RefusalTrailers.REASON))) {
      return keptQueued(status, results, pending);
    }
    String why = status.getDescription() == null ? status.getCode().name() : status.getCode() + ": " + status.getDescription();
    // A stream this client did not cancel was reset by the service's end (its shutdown's last
    // resort, say): the service is gone, as far as this batch can tell.
    Status.Code code = status.getCode() == Status.Code.CANCELLED ? Status.Code.UNAVAILABLE : status.getCode();
    return new CliException(ExitCodes.forStatus(code), "the batch stream to " + connection.describe()
        + " ended before the batch did (" + why + "); " + (results.succeeded() + results.unsuccessful())
        + " results are written (" + results.succeeded() + " succeeded); " + (pending == null
            ? "a line without a result may have run, but its result is lost (with --output FILE, a later --resume finds"
                + " it); run the lines without a result again"
            : (pending.size() > 0
                ? "the job ids of " + pending.size() + " lines accepted and not answered are in " + pending.path()
                    + ": run the batch again with --output FILE --resume to fetch their results by id"
                : "run the batch again with --output FILE --resume")
                + "; it sends every other line without a success again with its idempotency key (made from the batch id in "
                + pending.path() + "), so a line the service accepted without telling this batch is answered with its job"
                + " and does not run twice"));
  }

  /**
   * The error for a batch whose service shut down with some of its jobs queued and kept them for
   * its next start (the service's message names them): they are not lost, and must not be run
   * again, so the advice is to fetch them, not to run the lines again.
   */
  private static CliException keptQueued(Status status, BatchOutput results, PendingLog pending) {
    String written = (results.succeeded() + results.unsuccessful()) + " results are written (" + results.succeeded() + " succeeded)";
    String next = pending != null && pending.size() > 0
        ? "the job ids of the " + pending.size() + " lines accepted and not answered are in " + pending.path() + ": once a service"
            + " runs on that store again, run the batch again with --output FILE --resume to fetch their results by id (nothing"
            + " runs twice) and run the lines that never reached the service"
        : "the lines without a result line whose jobs are not named here never reached the service";
    return new CliException(ExitCodes.UNAVAILABLE, status.getDescription() + "; " + written + "; " + next);
  }

  /** Journals an acknowledgement: the line's job id, kept until its result is written. */
  private static void accepted(PendingLog pending, BatchResult result, Map<String, String> idsByKey, Consumer<IOException> failed) {
    if (pending == null) {
      return;
    }
    try {
      pending.accepted(Long.parseLong(result.getKey()), idsByKey.get(result.getKey()), result.getAccepted());
    } catch (IOException e) {
      failed.accept(e);
    }
  }

  /** Journals that a line's result is written (or that it was skipped): it is pending no more. */
  private static void answered(PendingLog pending, long line, Consumer<IOException> failed) {
    if (pending == null) {
      return;
    }
    try {
      pending.answered(line);
    } catch (IOException e) {
      failed.accept(e);
    }
  }

  /**
   * Whether the service keeps accepted jobs across a restart (a durable store): only then are
   * lines acknowledged and their ids journalled, as only then can a later run fetch them.
   */
  private static boolean durable(ServiceConnection connection) {
    String kind = connection.client().wire().poolStatus().getStore().getKind();
    return !kind.isEmpty() && !kind.equals("memory");
  }

  /** The pending journal beside --output; none when the results go to stdout. */
  private PendingLog pendingLog() {
    if (output == null) {
      return null;
    }
    try {
      PendingLog pending = PendingLog.open(output, resume);
      for (long answered : ResumeLog.answered(output, pending.resumed().keySet())) {
        pending.answered(answered);
      }
      return pending;
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot use " + PendingLog.pathFor(output) + ", the batch's pending journal: "
          + e.getMessage());
    }
  }

  /** Writes one result; true if its job succeeded. */
  private static boolean record(BatchResult result, Map<String, String> idsByKey, BatchOutput results) {
    long line = Long.parseLong(result.getKey());
    String id = idsByKey.remove(result.getKey());
    if (result.hasJob()) {
      results.job(line, id, result.getJob());
      return result.getJob().getState() == JobState.SUCCEEDED;
    }
    String code = result.getRejected().getCode();
    String state = code.equals(Status.Code.INVALID_ARGUMENT.name()) ? BatchOutput.INVALID : BatchOutput.REJECTED;
    results.notRun(line, id, state, code, "line " + line + ": " + result.getRejected().getMessage());
    return false;
  }

  private void validate() {
    if (resume && output == null) {
      throw new ParameterException(spec.commandLine(), "--resume needs --output FILE: it reads what the earlier run wrote there");
    }
    stream.validate(spec);
  }

  private ResumeLog.Settled resumedIds() {
    if (!resume) {
      return ResumeLog.Settled.none();
    }
    ResumeLog.Settled settled;
    try {
      settled = ResumeLog.settledIds(output);
      ResumeLog.prepareForAppend(output);
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read " + output + " to resume: " + e.getMessage());
    }
    if (!settled.lost().isEmpty()) {
      var err = spec.commandLine().getErr();
      err.printf("offload: batch --resume: %d lines whose job the service lost while it ran, with no retries left (FAILED"
          + " SERVICE_LOST in %s), are not run again, as they may have run; run them on their own if they must run%n",
          settled.lost().size(), output);
      err.flush();
    }
    return settled;
  }

  private BatchInput open() {
    if (input.equals("-")) {
      return new BatchInput(System.in);
    }
    try {
      return new BatchInput(Files.newInputStream(Path.of(input)));
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read the batch file " + input + ": " + e);
    }
  }

  private PrintWriter results() {
    if (output == null) {
      return spec.commandLine().getOut();
    }
    try {
      var options = resume
          ? new StandardOpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.APPEND}
          : new StandardOpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE};
      return new PrintWriter(Files.newBufferedWriter(output, StandardCharsets.UTF_8, options));
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot write " + output + ": " + e);
    }
  }

  private BatchProgress progress() {
    return BatchProgress.of(stream.progressMode, "batch", () -> {
      if (input.equals("-")) {
        return -1;
      }
      try (Stream<String> all = Files.lines(Path.of(input))) {
        return all.count();
      } catch (IOException | UncheckedIOException e) {
        return -1;
      }
    });
  }
}
