package dev.offload.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.sdk.JobContext;
import java.math.BigInteger;
import java.util.concurrent.CancellationException;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IsPrimeHandlerTest {

  /** A context that is never cancelled and ignores progress. */
  private static final JobContext CONTEXT =
      new JobContext() {
        @Override
        public String jobId() {
          return "test";
        }

        @Override
        public boolean isCancelled() {
          return false;
        }

        @Override
        public void reportProgress(double fraction, String message) {}

        @Override
        public System.Logger logger() {
          return System.getLogger("test");
        }
      };

  private final IsPrimeHandler handler = new IsPrimeHandler();

  /**
   * The numbers of Fluent Python's primes example. The slow ones take a few tenths of a second of
   * trial division, so each runs once, through the whole handler; 9999999999999917 runs in
   * {@link #run_objectInput_writesExactOutput} instead.
   */
  @ParameterizedTest
  @ValueSource(
      longs = {
        2L,
        142702110479723L,
        299593572317531L,
        3333333333333301L,
        3333333333333333L,
        3333335652092209L,
        4444444444444423L,
        4444444444444444L,
        4444444488888889L,
        5555553133149889L,
        5555555555555503L,
        5555555555555555L,
        6666666666666666L,
        6666666666666719L,
        6666667141414921L,
        7777777536340681L,
        7777777777777753L,
        7777777777777777L,
        9999999999999999L,
      })
  void run_seedNumber_agreesWithBigInteger(long n) throws Exception {
    boolean expected = BigInteger.valueOf(n).isProbablePrime(50);

    assertEquals("{\"n\":" + n + ",\"prime\":" + expected + "}", handler.run(Long.toString(n), CONTEXT));
  }

  @Test
  void run_objectInput_writesExactOutput() throws Exception {
    assertTrue(BigInteger.valueOf(9999999999999917L).isProbablePrime(50));

    assertEquals(
        "{\"n\":9999999999999917,\"prime\":true}",
        handler.run("{\"n\": 9999999999999917}", CONTEXT));
  }

  @Test
  void run_numberAboveDoublePrecision_writesItExactly() throws Exception {
    // 2^53 + 1 has no double; it is divisible by 3, so this is quick.
    assertEquals(
        "{\"n\":9007199254740993,\"prime\":false}", handler.run("9007199254740993", CONTEXT));
    assertEquals(
        "{\"n\":9007199254740993,\"prime\":false}",
        handler.run("{\"n\":9007199254740993}", CONTEXT));
  }

  @ParameterizedTest
  @ValueSource(strings = {"97", "{\"n\": 97}", "{\"n\":97,\"extra\":\"ignored\"}", " 97 "})
  void run_bareOrObjectInput_sameAnswer(String input) throws Exception {
    assertEquals("{\"n\":97,\"prime\":true}", handler.run(input, CONTEXT));
  }

  @ParameterizedTest
  @ValueSource(longs = {Long.MIN_VALUE, -7, -2, -1, 0, 1, 4, 9, 15, 25, 49, 121, 1_000_000})
  void isPrime_smallAndComposite_false(long n) {
    assertFalse(IsPrimeHandler.isPrime(n, CONTEXT));
  }

  @ParameterizedTest
  @ValueSource(longs = {2, 3, 5, 7, 11, 13, 97, 7919, 2147483647})
  void isPrime_prime_true(long n) {
    assertTrue(IsPrimeHandler.isPrime(n, CONTEXT));
  }

  @Test
  void isPrime_everyNumberBelow10000_agreesWithBigInteger() {
    LongStream.range(-10, 10_000)
        .forEach(
            n ->
                assertEquals(
                    n >= 2 && BigInteger.valueOf(n).isProbablePrime(50),
                    IsPrimeHandler.isPrime(n, CONTEXT),
                    "n = " + n));
  }

  @Test
  void run_negativeInput_isNotPrime() throws Exception {
    assertEquals("{\"n\":-5,\"prime\":false}", handler.run("-5", CONTEXT));
  }

  @Test
  void isPrime_cancelledContextOnLongSearch_throwsCancellationException() {
    JobContext cancelled =
        new JobContext() {
          @Override
          public String jobId() {
            return "gone";
          }

          @Override
          public boolean isCancelled() {
            return true;
          }

          @Override
          public void reportProgress(double fraction, String message) {}

          @Override
          public System.Logger logger() {
            return System.getLogger("test");
          }
        };

    // A prime this large needs far more divisors than one check interval.
    assertThrows(
        CancellationException.class, () -> IsPrimeHandler.isPrime(9999999999999917L, cancelled));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "\"97\"",
        "1.5",
        "97.0",
        "1e3",
        "true",
        "null",
        "[97]",
        "{}",
        "{\"m\": 97}",
        "{\"n\": null}",
        "{\"n\": \"97\"}",
        "{\"n\": 1.5}",
        "9223372036854775808",
        "{\"n\": 18446744073709551617}",
        "-9223372036854775809",
      })
  void run_inputThatIsNotA64BitInteger_throwsIllegalArgumentExceptionNamingIsPrime(String input) {
    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(input, CONTEXT));

    assertTrue(e.getMessage().contains("is_prime"), e.getMessage());
  }

  @Test
  void run_numberAboveLongMax_messageQuotesTheNumber() {
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> handler.run("9223372036854775808", CONTEXT));

    assertTrue(e.getMessage().contains("9223372036854775808"), e.getMessage());
  }

  @Test
  void run_malformedJson_throwsIllegalArgumentException() {
    assertThrows(IllegalArgumentException.class, () -> handler.run("{\"n\": ", CONTEXT));
    assertThrows(IllegalArgumentException.class, () -> handler.run("97 98", CONTEXT));
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 1, 2, 3, 4, 8, 15, 16, 17, 24, 25, 26, 99, 100, 101})
  void isqrt_small_largestRootNotAboveN(long n) {
    assertEquals((long) Math.floor(Math.sqrt(n)), IsPrimeHandler.isqrt(n));
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 94906265, 94906266, 99999999, 100000000, 3037000499L})
  void isqrt_perfectSquareAndNeighbours_exact(long r) {
    long square = r * r;

    assertEquals(r, IsPrimeHandler.isqrt(square));
    assertEquals(r - 1, IsPrimeHandler.isqrt(square - 1));
    if (r < 3037000499L) {
      assertEquals(r, IsPrimeHandler.isqrt(square + 1));
      assertEquals(r, IsPrimeHandler.isqrt(square + 2 * r)); // (r+1)^2 - 1
    }
  }

  @Test
  void isqrt_longMaxValue_is3037000499() {
    assertEquals(3037000499L, IsPrimeHandler.isqrt(Long.MAX_VALUE));
  }

  @ParameterizedTest
  @ValueSource(longs = {67_108_864L, 94_906_265L, 3_037_000_499L - 1_999})
  void isqrt_squareMinusOneWhereDoubleRoundsUp_isRootMinusOne(long from) {
    // From 2^52 on, Math.sqrt of r*r - 1 rounds to r itself; the correction loop must step back.
    for (long r = from; r < from + 2_000; r++) {
      assertEquals(r - 1, IsPrimeHandler.isqrt(r * r - 1), "isqrt(" + r + "^2 - 1)");
    }
  }
}
