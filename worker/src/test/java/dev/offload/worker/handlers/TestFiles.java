package dev.offload.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Generated files, directory listings and command-line tools for handler tests. */
final class TestFiles {

  private TestFiles() {}

  /**
   * Writes {@code size} bytes that compress somewhat, like real data: runs of text between runs of
   * random bytes, the same for the same seed.
   */
  static Path generate(Path file, int size, long seed) throws IOException {
    Random random = new Random(seed);
    byte[] bytes = new byte[size];
    byte[] text = "the quick brown fox jumps over the lazy dog 0123456789\n".getBytes();
    int i = 0;
    while (i < size) {
      int run = Math.min(size - i, 1 + random.nextInt(4096));
      if (random.nextBoolean()) {
        for (int j = 0; j < run; j++) {
          bytes[i + j] = text[(i + j) % text.length];
        }
      } else {
        byte[] noise = new byte[run];
        random.nextBytes(noise);
        System.arraycopy(noise, 0, bytes, i, run);
      }
      i += run;
    }
    return Files.write(file, bytes);
  }

  /** The names of the entries of a directory, sorted. */
  static List<String> names(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** Whether an executable of this name is on the PATH. */
  static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    return path != null
        && Stream.of(path.split(File.pathSeparator))
            .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, tool)));
  }

  /** Runs a command and returns its standard output; fails the test unless it exits 0. */
  static byte[] run(String... command) throws IOException, InterruptedException {
    Process process =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    process.getOutputStream().close();
    byte[] out = process.getInputStream().readAllBytes();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not end within 30 s");
    }
    assertEquals(0, process.exitValue(), String.join(" ", command) + " failed");
    return out;
  }
}
