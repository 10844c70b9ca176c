package dev.offload.examples;

import dev.offload.client.JobFailedException;
import dev.offload.client.Offloader;
import dev.offload.supervisor.ProcessPool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Starts one pool of worker JVMs and hands it to many concurrent tasks, as a Python program hands
 * one {@code ProcessPoolExecutor} to its coroutines: each task is a virtual thread that waits for
 * its job while the CPU work runs in a worker.
 */
public final class CheckPrimes {

  private static final List<Long> NUMBERS = List.of(
      2L, 91L, 97L, 7_919L, 1_000_000_007L, 2_147_483_647L, 4_294_967_297L, 600_851_475_143L,
      999_999_999_989L, 1_000_000_000_039L, 99_999_999_999_973L, 9_999_999_999_999_917L);

  /** What the built-in is_prime handler answers, mapped from its JSON output by Jackson. */
  record Primality(long n, boolean prime) {}

  public static void main(String[] args) throws Exception {
    // One pool for the whole program: two worker JVMs, started once.
    try (ProcessPool pool = ProcessPool.start(2)) {
      for (Primality result : checkAll(pool, NUMBERS)) {
        System.out.println(result.n() + (result.prime() ? " is prime" : " is not prime"));
      }

      // A job its handler refuses fails on its own; the pool carries on.
      try {
        pool.run("is_prime", "seven", Primality.class);
      } catch (JobFailedException e) {
        System.out.println("is_prime \"seven\" failed: " + e.getMessage());
      }
    } // close(): ends every worker before the program exits
  }

  /** Checks each number in a virtual thread of its own; returns the results in the numbers' order. */
  static List<Primality> checkAll(Offloader pool, List<Long> numbers) throws InterruptedException, ExecutionException {
    List<Future<Primality>> checks = new ArrayList<>();
    try (ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor()) {
      for (long n : numbers) {
        // run() blocks only its own virtual thread until the job's output is back.
        checks.add(tasks.submit(() -> pool.run("is_prime", n, Primality.class)));
      }
    } // close() waits for every task
    List<Primality> results = new ArrayList<>();
    for (Future<Primality> check : checks) {
      results.add(check.get());
    }
    return results;
  }
}
