package dev.offload.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.recovery.RecoveryListener;
import ch.qos.logback.core.recovery.ResilientOutputStreamBase;
import ch.qos.logback.core.rolling.RollingFileAppender;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service's rolling log file, made to say when it cannot be written. Logback keeps an appender's
 * I/O errors to itself (in its status manager) and drops the lines, so a full disk would go
 * unnoticed: this appender warns once on stderr, naming the file and the error, and counts every
 * line it could not write ({@link #failures}, the {@code offload_log_write_failures_total}
 * metric). Writing resumes by itself once the file can be written again (Logback's recovery).
 *
 * <p>How a line is known to be lost: Logback's resilient file stream drops every write from its
 * first failure until a recovery succeeds, and tells its {@link RecoveryListener}s when each such
 * episode begins and ends. A line is lost if an episode was under way when it was written, or
 * began while it was written. A file that cannot be opened at all (at start or at a rollover), or
 * a write that fails outright, leaves the appender broken or stopped: every line is lost from then
 * on, and counted, until the service restarts.
 */
final class LogFileAppender extends RollingFileAppender<ILoggingEvent> {

  private final PrintWriter err;
  private final AtomicLong failures = new AtomicLong();
  private final AtomicBoolean warned = new AtomicBoolean();
  /** Whether the file could not be opened, or a write failed outright: then every line is lost. */
  private volatile boolean broken;
  /** Whether the current stream drops writes now. Guarded by {@link #streamWriteLock}. */
  private boolean failing;
  /** Failure episodes of the current stream so far. Guarded by {@link #streamWriteLock}. */
  private long episodes;

  /** @param err where to warn, once, that the file cannot be written */
  LogFileAppender(PrintWriter err) {
    this.err = err;
  }

  /** Log lines that could not be written to the file, since the service started. */
  long failures() {
    return failures.get();
  }

  @Override
  public void openFile(String fileName) throws IOException {
    try {
      super.openFile(fileName);
      broken = false;
    } catch (IOException e) {
      broken = true;
      warnOnce(e);
      throw e;
    }
  }

  @Override
  public void setOutputStream(OutputStream stream) {
    streamWriteLock.lock();
    try {
      failing = false; // a new stream starts clean
      if (stream instanceof ResilientOutputStreamBase resilient) {
        resilient.addRecoveryListener(new Episodes());
      }
      super.setOutputStream(stream);
    } finally {
      streamWriteLock.unlock();
    }
  }

  @Override
  public void doAppend(ILoggingEvent event) {
    if (broken && !isStarted()) {
      failures.incrementAndGet();
      return;
    }
    super.doAppend(event);
  }

  @Override
  protected void writeOut(ILoggingEvent event) throws IOException {
    // The lock is the one the write itself takes (it is reentrant): the episode's state is read
    // before and after this line's write, with no other line's write in between.
    streamWriteLock.lock();
    try {
      boolean failingBefore = failing;
      long episodesBefore = episodes;
      try {
        super.writeOut(event);
      } catch (IOException | RuntimeException e) {
        // Not the resilient stream's kind of failure (a stream left closed by a failed rollover):
        // Logback stops the appender or reports the line lost.
        broken = true;
        failures.incrementAndGet();
        warnOnce(e);
        throw e;
      }
      if (failingBefore || episodes != episodesBefore) {
        failures.incrementAndGet();
      }
    } finally {
      streamWriteLock.unlock();
    }
  }

  private void warnOnce(Exception e) {
    if (warned.compareAndSet(false, true)) {
      String why = e.getMessage() == null ? e.toString() : e.getMessage();
      err.println("offload: WARNING: cannot write the log file " + getFile() + " (" + why + "); offload's log lines"
          + " are not kept there until it can be written again (they still come here; offload_log_write_failures_total counts"
          + " those lost): free some space or choose another --state-dir");
      err.flush();
    }
  }

  /** Told by the stream, under the write lock, when writes begin to fail and when they work again. */
  private final class Episodes implements RecoveryListener {
    @Override
    public void newFailure(IOException e) {
      failing = true;
      episodes++;
      warnOnce(e);
    }

    @Override
    public void recoveryOccured() {
      failing = false;
    }
  }
}
