package dev.offload.worker.handlers;

import dev.offload.sdk.JobContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads a file through a fixed buffer, never whole, handing each chunk to a sink: between chunks
 * it checks the job's cancellation and, on files larger than {@link #PROGRESS_THRESHOLD}, reports
 * the fraction of bytes read.
 */
final class ChunkedReader {

  /** Where the chunks go. */
  @FunctionalInterface
  interface Sink {
    void accept(byte[] buffer, int offset, int length) throws IOException;
  }

  static final int BUFFER_SIZE = 64 * 1024;
  /** Files up to this size are read without progress reports: they take milliseconds. */
  static final long PROGRESS_THRESHOLD = 4L << 20;
  /** How many bytes are read between two progress reports. */
  private static final long PROGRESS_STEP = 1L << 20;

  private ChunkedReader() {}

  /**
   * Reads the whole file into the sink.
   *
   * @param expectedSize the file's size when the job began, the denominator of progress
   * @param verb what is being done, for progress messages ("hashed", "compressed")
   * @return how many bytes were read, which differs from {@code expectedSize} if the file changed
   * @throws java.util.concurrent.CancellationException if the job was cancelled
   */
  static long read(Path file, long expectedSize, Sink sink, JobContext context, String verb)
      throws IOException {
    boolean reporting = expectedSize > PROGRESS_THRESHOLD;
    byte[] buffer = new byte[BUFFER_SIZE];
    long total = 0;
    long reported = 0;
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buffer)) != -1) {
        sink.accept(buffer, 0, n);
        total += n;
        context.checkCancelled();
        if (reporting && total - reported >= PROGRESS_STEP) {
          context.reportProgress(Math.min(1.0, (double) total / expectedSize), message(verb, total, expectedSize));
          reported = total;
        }
      }
    }
    if (reporting && (reported < total || total < expectedSize)) {
      context.reportProgress(1.0, message(verb, total, expectedSize));
    }
    return total;
  }

  private static String message(String verb, long done, long size) {
    return String.format(Locale.ROOT, "%s %.1f of %.1f MiB", verb, done / 1048576.0, size / 1048576.0);
  }
}
