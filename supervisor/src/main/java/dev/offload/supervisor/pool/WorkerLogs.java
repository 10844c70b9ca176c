package dev.offload.supervisor.pool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The logs of a service's workers, kept in a directory of the state dir across restarts: one file
 * per worker process (its stderr), named so that they sort by start, the newest {@link #KEEP}
 * kept and older ones deleted as new ones come. (A private pool keeps its workers' logs in its
 * temporary directory instead, gone with it.)
 */
final class WorkerLogs {

  /** How many worker logs a directory keeps. */
  static final int KEEP = 50;

  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private WorkerLogs() {}

  /**
   * A new log file's path for a worker, after pruning the directory to make room for it.
   *
   * @param name the worker's name in its pool, such as {@code w1-0}
   */
  static Path next(Path dir, String name) throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IOException(dir + " is not a directory");
    }
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    prune(dir, KEEP - 1);
    return dir.resolve(STAMP.format(LocalDateTime.now()) + "-p" + ProcessHandle.current().pid() + "-" + name + ".log");
  }

  /** Deletes all but the newest {@code keep} logs (by last modification). */
  static void prune(Path dir, int keep) throws IOException {
    List<Path> logs;
    try (Stream<Path> files = Files.list(dir)) {
      logs = files.filter(f -> f.getFileName().toString().endsWith(".log") && Files.isRegularFile(f))
          .sorted(Comparator.comparing(WorkerLogs::modified).reversed())
          .toList();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    for (Path old : logs.subList(Math.min(keep, logs.size()), logs.size())) {
      Files.deleteIfExists(old);
    }
  }

  private static FileTime modified(Path file) {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return FileTime.fromMillis(0); // gone meanwhile: first to be pruned, harmlessly
    }
  }
}
