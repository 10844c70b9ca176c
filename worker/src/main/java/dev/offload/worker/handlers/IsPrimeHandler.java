package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.Json;
import dev.offload.sdk.JobHandler;

/**
 * Primality by trial division, exactly as the seed text's {@code is_prime}: n below 2 is not
 * prime, 2 is, other even numbers are not, and odd numbers are tried against every odd divisor up
 * to the integer square root.
 */
public final class IsPrimeHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public IsPrimeHandler() {}

  /** How many divisors are tried between two looks at the cancellation flag. */
  private static final int CANCEL_CHECK_INTERVAL = 1 << 16;

  @Override
  public String name() {
    return "is_prime";
  }

  @Override
  public String description() {
    return "Trial-division primality test; input N or {\"n\": N} (a 64-bit integer)";
  }

  @Override
  public String run(String inputJson, JobContext context) {
    long n = readN(Json.parse(inputJson));
    var output = Json.object();
    output.put("n", n);
    output.put("prime", isPrime(n, context));
    return Json.write(output);
  }

  static boolean isPrime(long n, JobContext context) {
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
    int untilCheck = CANCEL_CHECK_INTERVAL;
    for (long i = 3; i <= root; i += 2) {
      if (n % i == 0) {
        return false;
      }
      if (--untilCheck == 0) {
        context.checkCancelled();
        untilCheck = CANCEL_CHECK_INTERVAL;
      }
    }
    return true;
  }

  /** The largest r with r*r <= n, for n >= 0; exact where Math.sqrt's double is not. */
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

  private static long readN(JsonNode input) {
    JsonNode n = input.isObject() ? input.get("n") : input;
    if (n == null || !n.isIntegralNumber()) {
      throw new IllegalArgumentException(
          "is_prime takes an integer or {\"n\": integer}, got " + input);
    }
    if (!n.canConvertToLong()) {
      throw new IllegalArgumentException(
          "is_prime takes integers from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE + ", got " + n);
    }
    return n.longValue();
  }
}
