package dev.offload.supervisor.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EndOrderTest {

  @Test
  void keepsTheOrderOfEnds_acrossGrowthAndWrapping() {
    EndOrder order = new EndOrder();
    List<Long> expected = new ArrayList<>();
    long next = 1_000;
    // Adds and prunes in turn, so that the ring wraps before it grows, several times over.
    for (int round = 0; round < 50; round++) {
      for (int i = 0; i < 40 + round; i++) {
        order.add(next);
        expected.add(next);
        next -= 3; // the order of ends, not of ids
      }
      int pruned = expected.size() / 3;
      assertEquals(expected.subList(0, pruned), order.oldest(pruned));
      order.removeOldest(pruned);
      expected.subList(0, pruned).clear();
      assertEquals(expected.size(), order.size());
    }
    assertEquals(expected, order.oldest(order.size()));
  }

  @Test
  void removeNewest_undoesTheLastAdds() {
    EndOrder order = new EndOrder();
    for (long id = 1; id <= 100; id++) {
      order.add(id);
    }
    order.removeOldest(90);
    for (long id = 101; id <= 250; id++) {
      order.add(id); // wraps at 128, then grows past it
    }
    order.removeNewest(150);
    assertEquals(List.of(91L, 92L, 93L, 94L, 95L, 96L, 97L, 98L, 99L, 100L), order.oldest(order.size()));
    order.add(7);
    assertEquals(7L, order.oldest(11).get(10));
  }

  @Test
  void clear_forgetsEverything() {
    EndOrder order = new EndOrder();
    for (long id = 1; id <= 70; id++) {
      order.add(id);
    }
    order.clear();
    assertEquals(0, order.size());
    order.add(5);
    assertEquals(List.of(5L), order.oldest(1));
  }

  @Test
  void refusesToRemoveMoreThanItHolds() {
    EndOrder order = new EndOrder();
    order.add(1);
    assertThrows(IllegalArgumentException.class, () -> order.removeOldest(2));
    assertThrows(IllegalArgumentException.class, () -> order.removeNewest(-1));
    assertThrows(IllegalArgumentException.class, () -> order.oldest(2));
  }
}
