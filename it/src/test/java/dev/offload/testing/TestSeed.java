package dev.offload.testing;

import java.lang.reflect.Method;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.opentest4j.TestAbortedException;

/**
 * The seed of a test run's random inputs: drawn afresh for every test JVM, or given with
 * {@code -Doffload.test.seed=N} to rerun exactly the values of an earlier run (Failsafe and
 * Surefire hand {@code -D} properties of the Maven command to the test JVM).
 *
 * <p>As an extension ({@code @ExtendWith(TestSeed.class)}), it prints the seed when a class
 * starts and puts it, with the failing try, into the failure of any parameterized or repeated
 * test, so that a failure seen once in CI can be rerun here.
 */
public final class TestSeed implements BeforeAllCallback, InvocationInterceptor {

  /** The system property that fixes the seed. */
  public static final String PROPERTY = "offload.test.seed";

  /** This JVM's own seed, used when none is given; non-negative so that it is easy to copy. */
  private static final long DRAWN = ThreadLocalRandom.current().nextLong(Long.MAX_VALUE);

  /** The seed of this run: the one given with {@code -Doffload.test.seed}, else a random one. */
  public static long value() {
    String given = System.getProperty(PROPERTY, "").strip();
    if (given.isEmpty()) {
      return DRAWN;
    }
    try {
      return Long.parseLong(given);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "-D" + PROPERTY + " must be a whole number (the seed a failure printed), not '" + given + "'", e);
    }
  }

  /**
   * A random source for one named stream of values (a property's tries), fixed by the seed and
   * the name alone: a stream draws the same values whichever other tests run before it.
   */
  public static SplittableRandom randomFor(String stream) {
    return new SplittableRandom(value() * 31 + stream.hashCode());
  }

  /** How to rerun with this run's seed. */
  public static String rerun() {
    return "seed " + value() + " (rerun with -D" + PROPERTY + "=" + value() + ")";
  }

  /** Says the seed on the test output as the class starts: should its JVM hang or die, the
   * failure it leaves carries no message. (Surefire shows no JUnit report entries.) */
  @Override
  public void beforeAll(ExtensionContext context) {
    System.out.println(context.getDisplayName() + ": random inputs from " + rerun());
  }

  @Override
  public void interceptTestTemplateMethod(
      Invocation<Void> invocation, ReflectiveInvocationContext<Method> invocationContext, ExtensionContext context) throws Throwable {
    try {
      invocation.proceed();
    } catch (TestAbortedException skipped) {
      throw skipped;
    } catch (Throwable failure) {
      throw new AssertionError(
          invocationContext.getExecutable().getName() + " failed at try " + context.getDisplayName()
              + " with " + rerun() + ": " + failure,
          failure);
    }
  }
}
