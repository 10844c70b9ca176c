/**
 * "One JVM per job": checks one number with the seed's trial division and prints
 * {"n": N, "prime": BOOL}. With no argument it does nothing at all, which measures a bare JVM
 * start. The bench compiles it once with javac so that no run pays for compilation.
 */
public final class IsPrimeOnce {

  public static void main(String[] args) {
    if (args.length == 0) {
      return;
    }
    long n = Long.parseLong(args[0]);
    System.out.println("{\"n\": " + n + ", \"prime\": " + isPrime(n) + "}");
  }

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
