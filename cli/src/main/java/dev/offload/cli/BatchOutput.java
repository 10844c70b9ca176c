package dev.offload.cli;

import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.sdk.Json;
import java.io.PrintWriter;
import java.util.function.LongConsumer;

/**
 * Writes a batch's result lines: {@code id, line, state, output, error, worker_pid, queued_ms,
 * run_ms}, through {@link OrderedLines}: in completion order, or in input order with results held
 * back until every earlier line is written. Every input line (skipped ones too) takes a slot of the
 * batch's window and gives it back only when it is written ({@code onWritten}, told the line's
 * number once its result is flushed), so what is held back never exceeds the window. Thread-safe;
 * every line is flushed, so nothing received is lost if the process is stopped, and {@link #close}
 * writes what order still holds back, so nothing received is lost if the batch stops early.
 */
final class BatchOutput {

  /** States of a line that never became a job. */
  static final String INVALID = "INVALID";
  static final String REJECTED = "REJECTED";
  /** State of a line an earlier run left pending whose job the service no longer knows. */
  static final String LOST = "LOST";

  private final OrderedLines lines;
  private long succeeded;
  private long unsuccessful;

  BatchOutput(PrintWriter out, boolean ordered, Runnable onWritten) {
    this(out, ordered, line -> onWritten.run());
  }

  BatchOutput(PrintWriter out, boolean ordered, LongConsumer onWritten) {
    this.lines = new OrderedLines(out, ordered, onWritten);
  }

  /** A line that was skipped (resumed, blank): in input order, later lines need not wait for it. */
  synchronized void skip(long line) {
    lines.put(line, null);
  }

  /**
   * A line that was skipped and counts as not succeeded: an earlier run wrote that its job was
   * lost with the service, and it is not run again.
   */
  synchronized void skipNotSucceeded(long line) {
    if (!lines.isClosed()) {
      count(false);
      lines.put(line, null);
    }
  }

  synchronized void job(long line, String id, Job job) {
    if (lines.isClosed()) {
      return;
    }
    ObjectNode node = base(id, line, job.getState().name());
    node.set("output", job.getOutputJson().isEmpty() ? NullNode.getInstance() : Json.parse(job.getOutputJson()));
    if (job.hasError()) {
      node.putObject("error").put("code", job.getError().getCode()).put("message", job.getError().getMessage());
    } else {
      node.putNull("error");
    }
    node.put("worker_pid", job.getWorkerPid());
    node.put("queued_ms", job.getQueuedMs());
    node.put("run_ms", job.getRunMs());
    count(job.getState() == JobState.SUCCEEDED);
    lines.put(line, Json.write(node));
  }

  /** A line that did not become a job: {@link #INVALID} input or {@link #REJECTED} by the service. */
  synchronized void notRun(long line, String id, String state, String code, String message) {
    if (lines.isClosed()) {
      return;
    }
    ObjectNode node = base(id, line, state);
    node.putNull("output");
    node.putObject("error").put("code", code).put("message", message);
    node.putNull("worker_pid");
    node.putNull("queued_ms");
    node.putNull("run_ms");
    count(false);
    lines.put(line, Json.write(node));
  }

  /**
   * Ends the output: results still held back for order are written now, in input order, with
   * gaps where earlier lines have no result (a batch that stopped early); results that come
   * after are not written, so that the output ends with what the summary counts.
   */
  synchronized void close() {
    lines.close();
  }

  synchronized long succeeded() {
    return succeeded;
  }

  synchronized long unsuccessful() {
    return unsuccessful;
  }

  private static ObjectNode base(String id, long line, String state) {
    ObjectNode node = Json.object();
    node.put("id", id);
    node.put("line", line);
    node.put("state", state);
    return node;
  }

  private void count(boolean success) {
    if (success) {
      succeeded++;
    } else {
      unsuccessful++;
    }
  }
}
