package dev.offload.supervisor.pool;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The log file a worker's standard error goes to, and the tail of it that error messages quote; or
 * none, for a worker whose log file could not be created, which writes to the supervisor's stderr.
 *
 * @param path the file, or null for none
 */
public record WorkerLog(Path path) {

  /** No file: the worker writes to the supervisor's stderr. */
  static final WorkerLog SUPERVISOR_STDERR = new WorkerLog(null);

  private static final int TAIL_BYTES = 8 * 1024;

  /** Whether the worker writes to a file of its own (else to the supervisor's stderr). */
  public boolean isFile() {
    return path != null;
  }

  /** The last {@code lines} lines of the log, or an empty list if it cannot be read or is no file. */
  public List<String> tail(int lines) {
    return tail(lines, 0);
  }

  /**
   * The last {@code lines} lines of what the log holds from byte {@code from} on (where a job's
   * lines begin), or an empty list if it holds nothing there, cannot be read or is no file.
   */
  public List<String> tail(int lines, long from) {
    if (path == null) {
      return List.of();
    }
    try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "r")) {
      long length = file.length();
      long start = Math.max(Math.max(0, from), length - TAIL_BYTES);
      if (start >= length) {
        return List.of();
      }
      byte[] bytes = new byte[(int) (length - start)];
      file.seek(start);
      file.readFully(bytes);
      List<String> all = Arrays.asList(new String(bytes, StandardCharsets.UTF_8).split("\n"));
      List<String> nonBlank = all.stream().filter(l -> !l.isBlank()).toList();
      return nonBlank.subList(Math.max(0, nonBlank.size() - lines), nonBlank.size());
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * The tail as one string for an error message, or an empty string if the log is empty; for no
   * file, where the worker's lines went instead.
   */
  public String quote(int lines) {
    return quote(lines, 0);
  }

  /** As {@link #quote(int)}, of what the log holds from byte {@code from} on (see {@link #tail(int, long)}). */
  public String quote(int lines, long from) {
    if (path == null) {
      return "; its log went to the supervisor's stderr, as no log file could be created for it";
    }
    List<String> tail = tail(lines, from);
    return tail.isEmpty() ? "" : "; last lines of its log " + path + ":\n  " + String.join("\n  ", tail);
  }
}
