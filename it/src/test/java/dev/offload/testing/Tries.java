package dev.offload.testing;

import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The tries of a generated test, for {@code @ParameterizedTest @MethodSource}: each try gives
 * every parameter a value of its {@link Generator}. The first tries go through every parameter's
 * edge cases (side by side, each in its own order), so that every edge case is always tried; the
 * rest are random draws from {@link TestSeed}'s source for the property.
 *
 * <p>Each value carries a short, ASCII-only name for the try's display name (and so for the
 * reports): strings are quoted with non-ASCII chars escaped, long values are cut with their
 * length said.
 */
public final class Tries {

  private static final int SHOWN_CHARS = 32;
  private static final int SHOWN_BYTES = 16;

  private Tries() {}

  /**
   * {@code count} tries of a property named {@code property} (its stream of random values), one
   * argument per generator, in order.
   *
   * @throws IllegalArgumentException if {@code count} is too few to try every edge case
   */
  public static Stream<Arguments> of(String property, int count, Generator<?>... parameters) {
    for (int i = 0; i < parameters.length; i++) {
      int edgeCases = parameters[i].edgeCases().size();
      if (edgeCases > count) {
        throw new IllegalArgumentException(property + ": " + count + " tries cannot try the " + edgeCases
            + " edge cases of parameter " + i + "; give it at least " + edgeCases + " tries");
      }
    }
    SplittableRandom source = TestSeed.randomFor(property);
    // Lazy and in order: try i's random values are drawn after try i-1's, so a seed gives the same tries.
    return IntStream.range(0, count).mapToObj(i -> Arguments.of(
        Stream.of(parameters).map(p -> named(p.tryValue(i, source))).toArray()));
  }

  private static Named<Object> named(Object value) {
    return Named.of(shown(value), value);
  }

  /** A short, printable, ASCII-only rendering of a generated value. */
  static String shown(Object value) {
    return switch (value) {
      case String s -> quoted(s);
      case byte[] bytes -> bytes.length + " bytes"
          + (bytes.length == 0 ? "" : " " + HexFormat.ofDelimiter(" ").formatHex(bytes, 0, Math.min(bytes.length, SHOWN_BYTES))
              + (bytes.length > SHOWN_BYTES ? " ..." : ""));
      case List<?> list -> list.size() + " items " + list.stream().limit(8).map(Tries::shown).toList()
          .toString().replaceFirst("]$", list.size() > 8 ? ", ...]" : "]");
      default -> String.valueOf(value);
    };
  }

  private static String quoted(String s) {
    StringBuilder shown = new StringBuilder("\"");
    s.chars().limit(SHOWN_CHARS).forEach(c -> {
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
        shown.append((char) c);
      } else {
        shown.append(String.format("\\u%04x", c));
      }
    });
    shown.append('"');
    return s.length() > SHOWN_CHARS ? shown + "... (" + s.length() + " chars)" : shown.toString();
  }
}
