package dev.offload.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class that leaves a child process of the test JVM running (a worker JVM, a
 * supervisor): after the class, every descendant must be gone within a bounded wait. Leftovers
 * are killed so that one failure does not spill into the next class.
 */
public final class NoLeftoverProcesses implements AfterAllCallback {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException, ExecutionException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    List<ProcessHandle> left = descendants();
    for (ProcessHandle process : left) {
      long remaining = deadline - System.nanoTime();
      try {
        process.onExit().get(Math.max(0, remaining), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException stillAlive) {
        // Reported below.
      }
    }
    left = descendants();
    if (!left.isEmpty()) {
      String described = left.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("(no command line: exiting, or a zombie)")).toList().toString();
      left.forEach(ProcessHandle::destroyForcibly);
      fail(context.getDisplayName() + " left processes running: " + described);
    }
  }

  /** The live descendants of this JVM. */
  public static List<ProcessHandle> descendants() {
    return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
  }
}
