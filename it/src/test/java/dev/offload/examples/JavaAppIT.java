package dev.offload.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.ExampleProject;
import dev.offload.testing.NoLeftoverProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example Java application (scripts/examples/java-app), a separate Maven project that embeds a
 * {@code ProcessPool} by its coordinates, is built and run as its README says: it prints every
 * result in order and the one failed job, exits 0, and leaves no worker and no file behind.
 */
@ExtendWith(NoLeftoverProcesses.class)
class JavaAppIT {

  private static final long RUN_LIMIT_SECONDS = 120;
  private static final String EXPECTED = """
      2 is prime
      91 is not prime
      97 is prime
      7919 is prime
      1000000007 is prime
      2147483647 is prime
      4294967297 is not prime
      600851475143 is not prime
      999999999989 is prime
      1000000000039 is prime
      99999999999973 is prime
      9999999999999917 is prime
      is_prime "seven" failed: job j-13 FAILED (HANDLER_ERROR): is_prime takes an integer or {"n": integer}, got "seven"
      """;

  @TempDir Path dir;

  @Test
  void checkPrimes_builtAndRunAsItsReadmeSays_printsEveryResultInOrderExitsZeroAndLeavesNothing() throws Exception {
    Path project = ExampleProject.build("java-app", dir);
    // The pool's socket directory goes here, so that the run's workers can be told from any others.
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Path out = dir.resolve("app.out");
    Path err = dir.resolve("app.err");
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + tmp,
        "-cp", "target/java-app.jar:target/lib/*", "dev.offload.examples.CheckPrimes");

    Process app = new ProcessBuilder(command).directory(project.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!app.waitFor(RUN_LIMIT_SECONDS, TimeUnit.SECONDS)) {
      app.descendants().forEach(ProcessHandle::destroyForcibly);
      app.destroyForcibly().waitFor();
      throw new AssertionError("the example did not exit within " + RUN_LIMIT_SECONDS + " s; it printed:\n"
          + Files.readString(out) + Files.readString(err));
    }

    String stderr = Files.readString(err);
    assertEquals(0, app.exitValue(), stderr);
    assertEquals(EXPECTED, Files.readString(out), stderr);
    // The library logs nothing at default levels; SLF4J only says that the app chose no backend.
    assertTrue(stderr.lines().allMatch(l -> l.startsWith("SLF4J(W): ")), stderr);
    // The app's workers are no descendants of this JVM once the app is gone: find them by their socket.
    List<String> workers = ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().orElse("").contains(tmp.toString()))
        .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
        .toList();
    assertEquals(List.of(), workers, "workers outlived the example");
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(List.of(), left.toList(), "the example left files in its temporary directory");
    }
  }
}
