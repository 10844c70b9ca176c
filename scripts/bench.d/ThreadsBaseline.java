import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The in-process limit for offload's CPU figure: the seed's primality checks on one JVM's
 * ExecutorService of N platform threads, with the same trial division as offload's is_prime
 * handler. Run as {@code java scripts/bench.d/ThreadsBaseline.java N [ROUNDS [NUMBERS_FILE [WARM_UP_ROUNDS]]]}
 * (10 rounds of the seed's 20 numbers unless told otherwise: the 200 checks); prints one JSON
 * object. The time is from the first submit to the last result, so it leaves out this JVM's own
 * start; with warm-up rounds, the checks first run that many times unmeasured, as a warm service's
 * would have.
 */
public final class ThreadsBaseline {

  /** The seed's numbers (as scripts/bench.d/SeedNumbers.txt and scripts/examples/seed-primes.sh). */
  private static final List<Long> SEED = List.of(2L, 142702110479723L, 299593572317531L, 3333333333333301L,
      3333333333333333L, 3333335652092209L, 4444444444444423L, 4444444444444444L, 4444444488888889L,
      5555553133149889L, 5555555555555503L, 5555555555555555L, 6666666666666666L, 6666666666666719L,
      6666667141414921L, 7777777536340681L, 7777777777777753L, 7777777777777777L, 9999999999999917L,
      9999999999999999L);

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 4) {
      System.err.println("usage: java ThreadsBaseline.java THREADS [ROUNDS [NUMBERS_FILE [WARM_UP_ROUNDS]]]");
      System.exit(2);
    }
    int threads = Integer.parseInt(args[0]);
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    List<Long> seed = args.length > 2
        ? Files.readAllLines(Path.of(args[2])).stream().map(String::trim).filter(s -> !s.isEmpty()).map(Long::parseLong).toList()
        : SEED;
    int warmUpRounds = args.length > 3 ? Integer.parseInt(args[3]) : 0;
    List<Long> numbers = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      numbers.addAll(seed);
    }

    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int r = 0; r < warmUpRounds; r++) {
        countPrimes(pool, seed);
      }
      long start = System.nanoTime();
      int primes = countPrimes(pool, numbers);
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(java.util.Locale.ROOT,
          "{\"threads\": %d, \"checks\": %d, \"primes\": %d, \"seconds\": %.6f, \"checks_per_s\": %.3f, \"warm_up_rounds\": %d, \"java\": \"%s\"}%n",
          threads, numbers.size(), primes, seconds, numbers.size() / seconds, warmUpRounds, System.getProperty("java.version"));
    } finally {
      pool.shutdownNow();
    }
  }

  /** Submits every check at once, as a batch does, and counts the primes once all have ended. */
  private static int countPrimes(ExecutorService pool, List<Long> numbers) throws Exception {
    List<Future<Boolean>> results = new ArrayList<>(numbers.size());
    for (long n : numbers) {
      results.add(pool.submit(() -> isPrime(n)));
    }
    int primes = 0;
    for (Future<Boolean> result : results) {
      if (result.get()) {
        primes++;
      }
    }
    return primes;
  }

  /** The seed's is_prime: n < 2 is not prime, 2 is, other evens are not, then odd divisors to isqrt(n). */
  static boolean isPrime(long n) {
    if (n < 2) {
      return false;
    }
    if (n == 2) {
      return true;
    }
    if (n % 2 == 0) {
      return false;
    }
    long root = isqrt(n);
    for (long i = 3; i <= root; i += 2) {
      if (n % i == 0) {
        return false;
      }
    }
    return true;
  }

  /** The largest r with r*r <= n, for n >= 0 (exact where Math.sqrt's double is not). */
  static long isqrt(long n) {
    long r = (long) Math.sqrt((double) n);
    while (r > 0 && r > n / r) {
      r--;
    }
    while (r + 1 <= n / (r + 1)) {
      r++;
    }
    return r;
  }
}
