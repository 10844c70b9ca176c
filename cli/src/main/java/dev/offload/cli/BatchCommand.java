package dev.offload.cli;

import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.JobState;
import dev.offload.client.BatchCall;
import dev.offload.client.OffloadClient;
import dev.offload.wire.RefusalTrailers;
import dev.offload.supervisor.pool.PoolConfig;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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

  /** When to draw the progress bar on stderr. */
  enum ProgressMode { auto, always, never }

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Parameters(paramLabel = "FILE|-", description = "The jobs, one JSON object a line: {\"id\", \"handler\", \"input\", \"timeout\", \"deadline\", \"retries\"}; - reads stdin.")
  String input;

  @Option(names = "--output", paramLabel = "FILE", description = "Write results to FILE instead of stdout.")
  Path output;

  @Option(names = "--ordered", description = "Write results in input order (a bounded reorder window) instead of as jobs end.")
  boolean ordered;

  @Option(names = "--max-in-flight", paramLabel = "N", defaultValue = "256", description = "Jobs outstanding at most (default: ${DEFAULT-VALUE}).")
  int maxInFlight;

  @Option(names = "--fail-fast", description = "Stop at the first line that does not succeed, cancelling what is in flight.")
  boolean failFast;

  @Option(names = "--resume", description = "With --output: skip ids that already SUCCEEDED in FILE (or whose job the service lost with no retries left), fetch by job id the results of lines FILE.pending names (accepted, not answered), send the other lines again with the idempotency keys of the earlier run (so a line the service had accepted is not run twice), and append the new results.")
  boolean resume;

  @Option(names = "--progress", paramLabel = "WHEN", defaultValue = "auto", description = "Progress bar on stderr: auto (when stderr is a terminal), always, never.")
  ProgressMode progressMode;

  @Option(names = "--workers", paramLabel = "N", description = "Workers of the private pool, when no service is running (default: one per core).")
  Integer workers;

  @Override
  public Integer call() throws InterruptedException {
    validate();
    ResumeLog.Settled done = resumedIds();
    PoolConfig.Builder pool = PoolConfig.defaults().toBuilder();
    if (workers != null) {
      pool.workers(workers);
    }
    try (BatchInput lines = open();
        PrintWriter out = results();
        ServiceConnection connection = ServiceConnection.open(server, pool.build(), spec.commandLine().getErr());
        PendingLog pending = pendingLog()) {
      return run(connection, lines, out, done, pending);
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, e.getMessage());
    }
  }

  /**
   * Runs the batch: a thread reads and sends the lines while this one waits for the call's end,
   * so that the command ends as soon as the call does (a service that is gone, Ctrl-C,
   * --fail-fast), even while the reading thread waits for a slot or for its input.
   */
  private int run(ServiceConnection connection, BatchInput lines, PrintWriter out, ResumeLog.Settled done, PendingLog pending)
      throws InterruptedException {
    AtomicReference<BatchCall> call = new AtomicReference<>();
    AtomicBoolean stopped = new AtomicBoolean();
    // Why the batch stopped on this side before its end (a pending line that cannot be fetched,
    // a journal that cannot be written); null while nothing did.
    AtomicReference<String> fetchFailure = new AtomicReference<>();
    Consumer<IOException> journalFailed = e -> {
      if (fetchFailure.compareAndSet(null, "cannot write " + pending.path() + ", the batch's pending journal: " + e.getMessage())) {
        stopped.set(true);
        call.get().cancel("the pending journal cannot be written");
      }
    };
    BatchOutput results = new BatchOutput(out, ordered, line -> {
      call.get().release();
      answered(pending, line, journalFailed);
    });
    boolean acknowledge = pending != null && durable(connection);
    Map<String, String> idsByKey = new ConcurrentHashMap<>();
    AtomicInteger stoppedBy = new AtomicInteger(); // the signal's number; 0 while none came
    AtomicReference<Throwable> inputFailure = new AtomicReference<>();
    StatusRuntimeException failure = null;
    try (BatchProgress progress = progress()) {
      call.set(connection.client().wire().batch(maxInFlight, acknowledge, result -> {
        if (result.hasAccepted()) {
          accepted(pending, result, idsByKey, journalFailed);
          return;
        }
        boolean success = record(result, idsByKey, results);
        progress.step(results.unsuccessful());
        if (!success && failFast && stopped.compareAndSet(false, true)) {
          call.get().cancel("--fail-fast: a job did not succeed");
        }
      }));
      Signals.handle(
          signal -> {
            stoppedBy.set(signal);
            stopped.set(true);
            call.get().cancel("interrupted");
          },
          signal -> Runtime.getRuntime().halt(ExitCodes.forSignal(signal)),
          Signals.STOPPING);

      // A daemon: if the call ends while it waits for input from a pipe, nothing waits for it.
      Thread.ofPlatform().name("offload-batch-input").daemon().start(() -> {
        try {
          sendAll(lines, new Sending(call.get(), connection, results, idsByKey, done, pending, stopped, progress, fetchFailure));
        } catch (StatusRuntimeException callEnded) {
          // It wanted a slot of a call that has ended; the waiting thread reports how it ended.
        } catch (Throwable e) {
          // The input cannot be read (or worse): end the call, which the waiting thread waits on.
          inputFailure.set(e);
          stopped.set(true);
          call.get().cancel("the batch input failed");
        }
      });
      try {
        call.get().await();
      } catch (StatusRuntimeException e) {
        if (!stopped.get() || e.getStatus().getCode() != Status.Code.CANCELLED) {
          failure = e;
        }
      }
    } finally {
      results.close();
    }
    if (inputFailure.get() instanceof IOException e) {
      throw new CliException(ExitCodes.FAILED, "cannot read the batch input " + input + ": " + e.getMessage());
    }
    if (inputFailure.get() != null) {
      throw new IllegalStateException("reading the batch input failed", inputFailure.get());
    }
    if (fetchFailure.get() != null) {
      throw new CliException(ExitCodes.UNAVAILABLE, fetchFailure.get() + "; " + (results.succeeded() + results.unsuccessful())
          + " results are written; run the batch again with --output FILE --resume to fetch the others");
    }
    if (failure != null) {
      throw streamFailed(failure, connection, results, pending);
    }
    if (pending != null && !stopped.get()) {
      pending.complete(); // every line is answered: a later --resume has nothing to find by key
    }
    var err = spec.commandLine().getErr();
    err.printf("offload: batch %s: %d succeeded, %d did not%n", stoppedBy.get() != 0 ? "interrupted" : "done",
        results.succeeded(), results.unsuccessful());
    err.flush();
    if (stoppedBy.get() != 0) {
      return ExitCodes.forSignal(stoppedBy.get());
    }
    return results.unsuccessful() > 0 ? ExitCodes.FAILED : ExitCodes.OK;
  }

  /** What the reading thread works with. */
  private record Sending(BatchCall call, ServiceConnection connection, BatchOutput results, Map<String, String> idsByKey,
      ResumeLog.Settled done, PendingLog pending, AtomicBoolean stopped, BatchProgress progress,
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
    while (!with.stopped().get() && (next = lines.next()) != null) {
      long number = next.number();
      call.acquire();
      if (next.text() != null && next.text().isBlank()) {
        results.skip(number);
        continue;
      }
      BatchLine line = next.text() == null ? BatchLine.unreadable(number, next.notUtf8()) : BatchLine.parse(number, next.text());
      if (line.invalid() != null) {
        notRun(call, results, with.progress(), with.stopped(), line, BatchOutput.INVALID, Status.Code.INVALID_ARGUMENT, line.invalid());
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
        notRun(call, results, with.progress(), with.stopped(), line, BatchOutput.REJECTED, Status.Code.RESOURCE_EXHAUSTED,
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
    if (!with.stopped().get()) {
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
          with.stopped().set(true);
          with.call().cancel("a pending line's result could not be fetched");
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
    if (!success && failFast && with.stopped().compareAndSet(false, true)) {
      with.call().cancel("--fail-fast: a job did not succeed");
    }
  }

  /** Writes the result of a line that does not run; with --fail-fast it stops the batch. */
  private void notRun(BatchCall call, BatchOutput results, BatchProgress progress, AtomicBoolean stopped, BatchLine line,
      String state, Status.Code code, String message) {
    results.notRun(line.number(), line.id(), state, code.name(), message);
    progress.step(results.unsuccessful());
    if (failFast && stopped.compareAndSet(false, true)) {
      call.cancel("--fail-fast: line " + line.number() + " did not run");
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
    if (maxInFlight < 1) {
      throw new ParameterException(spec.commandLine(), "--max-in-flight must be 1 or more, got " + maxInFlight);
    }
    if (workers != null && workers < 1) {
      throw new ParameterException(spec.commandLine(), "--workers must be 1 or more, got " + workers);
    }
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
    boolean show = switch (progressMode) {
      case always -> true;
      case never -> false;
      case auto -> Boolean.getBoolean("offload.stderr.tty");
    };
    if (!show) {
      return BatchProgress.none();
    }
    long total = -1;
    if (!input.equals("-")) {
      try (Stream<String> all = Files.lines(Path.of(input))) {
        total = all.count();
      } catch (IOException | UncheckedIOException e) {
        total = -1;
      }
    }
    return BatchProgress.bar(System.err, total);
  }
}
