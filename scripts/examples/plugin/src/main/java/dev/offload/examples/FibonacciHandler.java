package dev.offload.examples;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.math.BigInteger;

/**
 * {@code fibonacci}: F(n) exactly, by fast doubling on {@link BigInteger}:
 * F(2k) = F(k)·(2·F(k+1) − F(k)) and F(2k+1) = F(k)² + F(k+1)², one step per bit of n. The value
 * is output as a string of decimal digits: JSON readers (Jackson, and so offload, among them) refuse
 * numbers longer than 1000 digits, and F(4787) is already longer.
 */
public final class FibonacciHandler implements JobHandler {

  /**
   * F(1,000,000) has 208,988 digits and takes about a second on one core. The bound keeps the steps
   * that cannot be stopped midway (the last multiplication, the conversion to decimal) well within
   * the cancel grace; beyond it both grow fast (for ten times n, ten times longer).
   */
  static final long MAX_N = 1_000_000;

  @Override
  public String name() {
    return "fibonacci";
  }

  @Override
  public String description() {
    return "The n-th Fibonacci number, exactly, as a string of digits; input N or {\"n\": N} with 0 <= N <= " + MAX_N;
  }

  @Override
  public String run(String inputJson, JobContext context) {
    long n = readN(Json.parse(inputJson));
    BigInteger value = fibonacci(n, context);
    var output = Json.object();
    output.put("n", n);
    String digits = value.toString();
    output.put("digits", digits.length());
    output.put("value", digits);
    return Json.write(output);
  }

  static BigInteger fibonacci(long n, JobContext context) {
    BigInteger a = BigInteger.ZERO; // F(k), for k = the bits of n read so far
    BigInteger b = BigInteger.ONE; // F(k+1)
    int bits = 64 - Long.numberOfLeadingZeros(n);
    // Later steps multiply longer numbers: doubling the length about triples the cost of a
    // multiplication (Toom-Cook), so progress weighs step i by 3^i.
    double total = (Math.pow(3, bits) - 1) / 2;
    double done = 0;
    for (int i = bits - 1; i >= 0; i--) {
      // Between steps, not within one: a multiplication cannot be stopped midway.
      context.checkCancelled();
      BigInteger doubled = a.multiply(b.shiftLeft(1).subtract(a)); // F(2k)
      BigInteger next = a.multiply(a).add(b.multiply(b)); // F(2k+1)
      if (((n >>> i) & 1) == 0) {
        a = doubled;
        b = next;
      } else {
        a = next;
        b = doubled.add(next);
      }
      done += Math.pow(3, bits - 1 - i);
      context.reportProgress(done / total, "bit " + (bits - i) + " of " + bits);
    }
    return a;
  }

  private static long readN(JsonNode input) {
    JsonNode n = input.isObject() ? input.get("n") : input;
    if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0 || n.longValue() > MAX_N) {
      throw new IllegalArgumentException("fibonacci takes N or {\"n\": N} with N a whole number from 0 to " + MAX_N + ", got " + input);
    }
    return n.longValue();
  }
}
