package dev.offload.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

class TriesTest {

  private static final Generator<String> STRINGS = Generator.oneOf(Generator.of("a", "b"), Generator.anyStrings(50));
  private static final Generator<Long> LONGS = Generator.longs(Long.MIN_VALUE, Long.MAX_VALUE);

  @Test
  void of_sameProperty_sameTries() {
    assertEquals(values("p", 100), values("p", 100));
  }

  @Test
  void of_otherProperty_otherRandomTries() {
    assertNotEquals(values("p", 100).subList(20, 100), values("q", 100).subList(20, 100));
  }

  @Test
  void of_firstTries_goThroughEveryParameterEdgeCasesInOrder() {
    List<List<Object>> tries = values("p", 30);
    for (int i = 0; i < STRINGS.edgeCases().size(); i++) {
      assertEquals(STRINGS.edgeCases().get(i), tries.get(i).get(0), "try " + i);
    }
    for (int i = 0; i < LONGS.edgeCases().size(); i++) {
      assertEquals(LONGS.edgeCases().get(i), tries.get(i).get(1), "try " + i);
    }
  }

  @Test
  void of_fewerTriesThanEdgeCases_isRefused() {
    var e = assertThrows(IllegalArgumentException.class, () -> Tries.of("p", 3, STRINGS));
    assertTrue(e.getMessage().contains("give it at least " + STRINGS.edgeCases().size() + " tries"), e.getMessage());
  }

  @Test
  void longs_randomDraws_stayWithinTheirBounds() {
    SplittableRandom source = new SplittableRandom(1);
    Generator<Long> negatives = Generator.longs(Long.MIN_VALUE, -1);
    Generator<Integer> small = Generator.ints(0, 24);
    Generator<Long> top = Generator.longs(Long.MAX_VALUE - 5, Long.MAX_VALUE);
    for (int i = 0; i < 10_000; i++) {
      assertTrue(negatives.random().apply(source) < 0);
      int n = small.random().apply(source);
      assertTrue(n >= 0 && n <= 24, "" + n);
      assertTrue(top.random().apply(source) >= Long.MAX_VALUE - 5);
    }
    assertEquals(List.of(Long.MIN_VALUE, Long.MIN_VALUE + 1, -1L, -2L), negatives.edgeCases());
  }

  @Test
  void lists_edgeCasesHoldDuplicates_andRandomSizesStayWithinBounds() {
    Generator<List<String>> lists = Generator.of("x", "y").lists(1, 40);
    assertEquals(List.of(List.of("x"), List.of("x", "y", "x", "y"), java.util.Collections.nCopies(40, "y")), lists.edgeCases());
    SplittableRandom source = new SplittableRandom(1);
    for (int i = 0; i < 1_000; i++) {
      int size = lists.random().apply(source).size();
      assertTrue(size >= 1 && size <= 40, "" + size);
    }
  }

  @Test
  void shown_anyString_isShortPrintableAscii() {
    assertEquals("\"a\\u0022\\ud800\\u00e9\"", Tries.shown("a\"\uD800é"));
    String huge = Tries.shown("i".repeat(100_000));
    assertEquals("\"" + "i".repeat(32) + "\"... (100000 chars)", huge);
    assertEquals("3 bytes 00 ff 10", Tries.shown(new byte[] {0, -1, 16}));
  }

  /** The values of {@code count} tries of a property with a string and a long parameter. */
  private static List<List<Object>> values(String property, int count) {
    return Tries.of(property, count, STRINGS, LONGS)
        .map(Arguments::get)
        .map(arguments -> IntStream.range(0, arguments.length).<Object>mapToObj(i -> ((Named<?>) arguments[i]).getPayload()).toList())
        .toList();
  }
}
