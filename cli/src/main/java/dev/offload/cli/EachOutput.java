package dev.offload.cli;

import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import io.grpc.Status;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * What {@code offload each} writes as its jobs end: each output JSON on stdout, one a line (with
 * {@code --tag}, after its argument and a tab; with {@code --keep-order}, in input order, through
 * {@link OrderedLines}); each failure on stderr with its argument and error; each job's line in
 * the {@link JobLog}. It remembers the argument and input of every job sent until its result comes,
 * so it holds no more than the window. Thread-safe.
 */
final class EachOutput {

  /** A job sent and not yet answered. */
  private record Sent(String argument, String input, long sentAtMillis) {}

  private final OrderedLines lines;
  private final PrintWriter err;
  private final JobLog log;
  private final String handler;
  private final String host;
  private final boolean tag;
  private final Consumer<IOException> logFailed;
  private final Map<Long, Sent> sent = new ConcurrentHashMap<>();
  private long succeeded;
  private long failed;

  /**
   * @param out stdout
   * @param err stderr
   * @param keepOrder whether outputs are written in input order
   * @param tag whether each output line starts with its argument and a tab
   * @param log the joblog, or null for none
   * @param handler the jobs' handler, for the joblog's Command
   * @param host where the jobs run, for the joblog's Host
   * @param onWritten told each job's sequence number once its output is written (or would have
   *     been, for a job that has none), to give its window slot back
   * @param logFailed told when the joblog cannot be written
   */
  EachOutput(PrintWriter out, PrintWriter err, boolean keepOrder, boolean tag, JobLog log, String handler, String host,
      LongConsumer onWritten, Consumer<IOException> logFailed) {
    this.lines = new OrderedLines(out, keepOrder, onWritten);
    this.err = err;
    this.log = log;
    this.handler = handler;
    this.host = host;
    this.tag = tag;
    this.logFailed = logFailed;
  }

  /** A job is about to be sent, under its sequence number as the key. */
  void sent(long seq, String argument, String input) {
    sent.put(seq, new Sent(argument, input, System.currentTimeMillis()));
  }

  /** A job that an earlier run logged, and is not run: nothing is written for it. */
  void skip(long seq) {
    lines.put(seq, null);
  }

  /**
   * A job's result.
   *
   * @return true if the job succeeded
   */
  synchronized boolean result(BatchResult result) {
    long seq = Long.parseLong(result.getKey());
    Sent job = sent.remove(seq);
    if (result.hasRejected()) {
      Status.Code code = Status.Code.valueOf(result.getRejected().getCode());
      notRun(seq, job.argument(), job.input(), ExitCodes.forStatus(code), code.name(), result.getRejected().getMessage(),
          job.sentAtMillis());
      return false;
    }
    return ended(seq, job, result.getJob());
  }

  /**
   * A job that did not run: its input is not valid, or the service could not take it.
   *
   * @param exitval offload's exit code for it (2 invalid input, 3 refused by the service)
   */
  synchronized void notRun(long seq, String argument, String input, int exitval, String code, String message) {
    notRun(seq, argument, input, exitval, code, message, System.currentTimeMillis());
  }

  private void notRun(long seq, String argument, String input, int exitval, String code, String message, long atMillis) {
    if (lines.isClosed()) {
      return;
    }
    failed++;
    err.println("offload: each: job " + seq + " " + EachTemplate.quote(argument) + " did not run: " + code
        + ": " + message);
    err.flush();
    log(seq, atMillis, 0, 0, exitval, input);
    lines.put(seq, null);
  }

  private boolean ended(long seq, Sent job, Job end) {
    if (lines.isClosed()) {
      return false;
    }
    boolean success = end.getState() == JobState.SUCCEEDED;
    String line = null;
    if (success) {
      succeeded++;
      String output = end.getOutputJson().isEmpty() ? "null" : end.getOutputJson();
      line = tag ? job.argument() + "\t" + output : output;
    } else {
      failed++;
      String why = end.hasError() ? end.getError().getCode() + ": " + end.getError().getMessage() : "no error given";
      err.println("offload: each: job " + seq + " " + EachTemplate.quote(job.argument()) + " "
          + end.getState() + ": " + why);
      err.flush();
    }
    // Starttime is when a worker took the job, by the service's clock (the same as this one's on
    // one machine); a job with no record of it (an older service) started when it was sent.
    long started = end.getSubmittedAtMs() > 0 ? end.getSubmittedAtMs() + end.getQueuedMs() : job.sentAtMillis();
    long received = line == null ? 0 : line.getBytes(StandardCharsets.UTF_8).length + 1;
    log(seq, started, end.getRunMs(), received, ExitCodes.forState(end.getState()), job.input());
    lines.put(seq, line);
    return success;
  }

  private void log(long seq, long startMillis, long runtimeMillis, long received, int exitval, String input) {
    if (log == null) {
      return;
    }
    try {
      log.write(seq, host, startMillis, runtimeMillis, received, exitval, handler + " " + input);
    } catch (IOException e) {
      logFailed.accept(e);
    }
  }

  /**
   * Ends the output: what order still holds back is written, and results that come after are not
   * written, nor logged, nor counted.
   */
  synchronized void close() {
    lines.close();
  }

  synchronized long succeeded() {
    return succeeded;
  }

  synchronized long failed() {
    return failed;
  }
}
