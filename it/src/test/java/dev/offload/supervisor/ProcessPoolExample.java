package dev.offload.supervisor;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The README's example of the embedded pool, compiled and run by {@link ProcessPoolIT}. */
final class ProcessPoolExample {

  private ProcessPoolExample() {}

  // README:begin
  static List<String> checkPrimes(List<Long> numbers) throws Exception {
    try (ProcessPool pool = ProcessPool.start(2)) {               // two worker JVMs, started once
      List<CompletableFuture<String>> results = numbers.stream()
          .map(n -> pool.submit("is_prime", Long.toString(n)))    // returns at once
          .toList();
      return results.stream().map(CompletableFuture::join).toList(); // {"n":...,"prime":...}
    }                                                             // close(): no worker left behind
  }
  // README:end
}
