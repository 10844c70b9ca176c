package dev.offload.worker.handlers;

import dev.offload.sdk.JobContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A job context for handler tests: records progress reports, and is cancelled from the start,
 * never, or at the first progress report (optionally interrupting the job thread, as the worker
 * does when a cancel arrives).
 */
final class RecordingContext implements JobContext {

  record Progress(double fraction, String message) {}

  private enum Cancel { NEVER, AT_ONCE, ON_PROGRESS, ON_PROGRESS_WITH_INTERRUPT }

  final List<Progress> reports = new CopyOnWriteArrayList<>();
  private final Cancel cancel;
  private volatile boolean cancelled;

  private RecordingContext(Cancel cancel) {
    this.cancel = cancel;
    this.cancelled = cancel == Cancel.AT_ONCE;
  }

  /** Never cancelled. */
  static RecordingContext running() {
    return new RecordingContext(Cancel.NEVER);
  }

  /** Cancelled before the job starts. */
  static RecordingContext cancelled() {
    return new RecordingContext(Cancel.AT_ONCE);
  }

  /** Cancelled when the handler first reports progress. */
  static RecordingContext cancelledOnFirstProgress() {
    return new RecordingContext(Cancel.ON_PROGRESS);
  }

  /** Cancelled, and its thread interrupted, when the handler first reports progress. */
  static RecordingContext cancelledWithInterruptOnFirstProgress() {
    return new RecordingContext(Cancel.ON_PROGRESS_WITH_INTERRUPT);
  }

  @Override
  public String jobId() {
    return "test-job";
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public void reportProgress(double fraction, String message) {
    reports.add(new Progress(fraction, message));
    if (!cancelled && (cancel == Cancel.ON_PROGRESS || cancel == Cancel.ON_PROGRESS_WITH_INTERRUPT)) {
      cancelled = true;
      if (cancel == Cancel.ON_PROGRESS_WITH_INTERRUPT) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public System.Logger logger() {
    return System.getLogger("test");
  }
}
