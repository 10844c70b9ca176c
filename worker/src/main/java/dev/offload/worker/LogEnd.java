package dev.offload.worker;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;

/**
 * Where this worker's log ends: how many bytes its standard error, a file the supervisor keeps,
 * holds so far. The supervisor quotes a lost job's log from where the log ended when the job
 * before it did, so that an earlier job's lines are not taken for the lost one's.
 *
 * <p>Reading a file's position is a system call, which costs about a microsecond on a virtual
 * machine: too much for every job, as a short one costs the worker less than that. So writes
 * through {@code System.err} (and {@code System.out}, which a worker points at it), where the
 * worker's log lines and a handler's printing go, are watched, and the position is read only after
 * something was written. Writes that go around them (the JVM's own messages) are not seen; they
 * are quoted with the job that ends next, or with the lost one.
 *
 * <p>Thread-safe.
 */
final class LogEnd {

  /** For a log that is no file (a pipe, a terminal), whose end cannot be told: always 0. */
  static final LogEnd UNKNOWN = new LogEnd(null);

  private final FileChannel stderr;
  /** Whether anything was written since the position was last read. */
  private volatile boolean written = true;

  private LogEnd(FileChannel stderr) {
    this.stderr = stderr;
  }

  /**
   * Points {@code System.err} at standard error through a stream that notes each write, and
   * returns what reads the end; {@link #UNKNOWN} if standard error is no file. Call it before
   * anything writes to it, and point {@code System.out} at the new {@code System.err} afterwards.
   */
  static LogEnd watchStderr() {
    FileChannel channel = new FileOutputStream(FileDescriptor.err).getChannel();
    try {
      channel.position();
    } catch (IOException notAFile) {
      return UNKNOWN;
    }
    LogEnd end = new LogEnd(channel);
    Charset charset = System.err.charset();
    // Buffered and flushed as the JVM's own System.err is; writes are noted as they reach the file.
    PrintStream watched = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.err) {
      @Override
      public void write(int b) throws IOException {
        super.write(b);
        end.written = true;
      }

      @Override
      public void write(byte[] b) throws IOException {
        super.write(b);
        end.written = true;
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        super.write(b, off, len);
        end.written = true;
      }
    }, 8192), true, charset);
    System.setErr(watched);
    return end;
  }

  /** Where the log ends now, in bytes; 0 if that cannot be told. */
  long now() {
    if (stderr == null) {
      return 0;
    }
    written = false;
    try {
      return stderr.position();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Where the log ends if anything was written since the last reading, else 0 (no system call). */
  long ifMoved() {
    return written ? now() : 0;
  }
}
