package dev.offload.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * Values for one parameter of a generated test: fixed edge cases, which {@link Tries} always tries
 * first, then random draws from the run's seeded source. A generator holds no state; the same
 * seed gives the same draws.
 *
 * @param edgeCases the values every run tries, in this order, before any random one
 * @param random one random value from the given source (drawing only from it, so that a seed
 *     reproduces it)
 */
public record Generator<T>(List<T> edgeCases, Function<SplittableRandom, T> random) {

  public Generator {
    edgeCases = List.copyOf(edgeCases);
  }

  /** The value of try {@code index}: the edge cases first, in order, then random draws. */
  public T tryValue(int index, SplittableRandom source) {
    return index < edgeCases.size() ? edgeCases.get(index) : random.apply(source);
  }

  /** The same values, transformed. */
  public <R> Generator<R> map(Function<? super T, ? extends R> f) {
    return new Generator<>(edgeCases.stream().<R>map(f).toList(), source -> f.apply(random.apply(source)));
  }

  /**
   * Lists of {@code minSize} to {@code maxSize} of these values. The edge cases are the shortest
   * list of the first edge value, every edge value twice over (duplicates; cut at maxSize), and
   * the longest list of the last edge value; random lists have a uniform size and random values.
   */
  public Generator<List<T>> lists(int minSize, int maxSize) {
    if (minSize < 1 || maxSize < minSize) {
      throw new IllegalArgumentException("list sizes " + minSize + ".." + maxSize + ": need 1 <= min <= max");
    }
    List<T> twice = Stream.concat(edgeCases.stream(), edgeCases.stream()).limit(maxSize).toList();
    List<List<T>> lists = new ArrayList<>();
    lists.add(Collections.nCopies(minSize, edgeCases.getFirst()));
    if (twice.size() >= minSize) {
      lists.add(twice);
    }
    lists.add(Collections.nCopies(maxSize, edgeCases.getLast()));
    return new Generator<>(lists, source -> {
      int size = source.nextInt(minSize, maxSize + 1);
      List<T> list = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        list.add(random.apply(source));
      }
      return list;
    });
  }

  /** One of these values: each an edge case, and drawn with equal chances. */
  @SafeVarargs
  public static <T> Generator<T> of(T... values) {
    List<T> all = List.of(values);
    return new Generator<>(all, source -> all.get(source.nextInt(all.size())));
  }

  /**
   * A value of one of these generators, each chosen with equal chances; the edge cases are all of
   * theirs (once each, in order).
   */
  @SafeVarargs
  public static <T> Generator<T> oneOf(Generator<? extends T>... alternatives) {
    List<T> edgeCases = Arrays.stream(alternatives).<T>flatMap(g -> g.edgeCases().stream()).distinct().toList();
    return new Generator<>(edgeCases, source -> alternatives[source.nextInt(alternatives.length)].random().apply(source));
  }

  /**
   * Strings of up to {@code maxLength} of any UTF-16 chars, lone and reversed surrogates included
   * (which no UTF-8 text can hold). Random ones have a uniform length and draw each char half the
   * time from ASCII (so that names, digits and punctuation turn up), else from all 65,536.
   */
  public static Generator<String> anyStrings(int maxLength) {
    return new Generator<>(
        List.of("", "\u0000", " ", "\uFFFF", "\uD800", "\uDFFF", "\uDFFF\uD800", "\uD83D\uDE00", "é".repeat(maxLength)),
        source -> string(source, maxLength, s -> (char) (s.nextBoolean() ? s.nextInt(0x80) : s.nextInt(0x10000))));
  }

  /** Strings of up to {@code maxLength} chars from {@code alphabet}; the edge cases are the empty
   * string and the alphabet itself. */
  public static Generator<String> strings(String alphabet, int maxLength) {
    return new Generator<>(List.of("", alphabet),
        source -> string(source, maxLength, s -> alphabet.charAt(s.nextInt(alphabet.length()))));
  }

  /** Strings of up to {@code maxLength} chars between {@code first} and {@code last}, inclusive. */
  public static Generator<String> strings(char first, char last, int maxLength) {
    return new Generator<>(List.of("", String.valueOf(first), String.valueOf(last)),
        source -> string(source, maxLength, s -> (char) s.nextInt(first, last + 1)));
  }

  /**
   * Longs between {@code min} and {@code max}, inclusive. The edge cases are both ends, their
   * neighbours, and -1, 0 and 1 where in range; random ones are half the time uniform, half the
   * time within a thousand of either end (where off-by-one and overflow live).
   */
  public static Generator<Long> longs(long min, long max) {
    if (max < min) {
      throw new IllegalArgumentException("longs " + min + ".." + max + ": need min <= max");
    }
    List<Long> edgeCases = LongStream.of(min, safeAdd(min, 1), -1, 0, 1, safeAdd(max, -1), max)
        .filter(v -> v >= min && v <= max).distinct().boxed().toList();
    return new Generator<>(edgeCases, source -> {
      if (source.nextBoolean()) {
        return uniform(source, min, max);
      }
      long offset = source.nextLong(1000);
      long nearAnEnd = source.nextBoolean() ? min + offset : max - offset; // may overflow: then out of range
      return nearAnEnd >= min && nearAnEnd <= max ? nearAnEnd : uniform(source, min, max);
    });
  }

  /** Ints between {@code min} and {@code max}, inclusive, drawn as {@link #longs} draws. */
  public static Generator<Integer> ints(int min, int max) {
    return longs(min, max).map(Math::toIntExact);
  }

  /** Byte arrays of up to {@code maxSize} bytes; the edge cases are empty, {0}, {-1} and maxSize zeros. */
  public static Generator<byte[]> bytes(int maxSize) {
    return new Generator<>(List.of(new byte[0], new byte[] {0}, new byte[] {-1}, new byte[maxSize]), source -> {
      byte[] bytes = new byte[source.nextInt(maxSize + 1)];
      source.nextBytes(bytes);
      return bytes;
    });
  }

  private static String string(SplittableRandom source, int maxLength, Function<SplittableRandom, Character> chars) {
    int length = source.nextInt(maxLength + 1);
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append(chars.apply(source).charValue());
    }
    return s.toString();
  }

  private static long uniform(SplittableRandom source, long min, long max) {
    if (min == Long.MIN_VALUE && max == Long.MAX_VALUE) {
      return source.nextLong();
    }
    return max == Long.MAX_VALUE ? source.nextLong(min - 1, max) + 1 : source.nextLong(min, max + 1);
  }

  private static long safeAdd(long value, long delta) {
    try {
      return Math.addExact(value, delta);
    } catch (ArithmeticException overflow) {
      return value;
    }
  }
}
