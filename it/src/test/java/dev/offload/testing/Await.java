package dev.offload.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.opentest4j.AssertionFailedError;

/**
 * Waits for a condition that changes because of another process, such as a pool refilling after a
 * kill. Bounded; re-checks often rather than sleeping once for a guessed time.
 */
public final class Await {

  private Await() {}

  public static void until(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionFailedError("timed out after " + limit.toMillis() + " ms waiting for: " + what);
      }
      Thread.sleep(20);
    }
  }
}
