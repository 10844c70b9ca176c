package dev.offload.supervisor.pool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** The resident memory of a process, from Linux's {@code /proc/PID/status}. */
final class ProcessMemory {

  private ProcessMemory() {}

  /** The process's resident set size in bytes, or empty where /proc cannot tell (not Linux, gone). */
  static OptionalLong rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          String[] fields = line.substring("VmRSS:".length()).trim().split("\\s+");
          return OptionalLong.of(Long.parseLong(fields[0]) * 1024);
        }
      }
    } catch (IOException | RuntimeException e) {
      // No /proc, or the process is gone: nothing to sample.
    }
    return OptionalLong.empty();
  }
}
