package dev.offload.supervisor.store;

import java.util.ArrayList;
import java.util.List;

/**
 * The ids of the finished jobs a store holds, in the order they ended, oldest first: what it prunes
 * by, in place of an index on the order of ends (which would add a page to every commit that ends
 * a job). A ring of primitive longs, doubled when full and never shrunk: 8 to 16 bytes a finished
 * job kept, at the most the store has kept at once.
 *
 * <p>Not thread-safe: its store's committer uses it.
 */
final class EndOrder {

  private long[] ids = new long[64];
  /** Where the oldest id is. */
  private int head;
  private int size;

  /** Adds the id of the job that ended last. */
  void add(long id) {
    if (size == ids.length) {
      long[] grown = new long[ids.length * 2];
      for (int i = 0; i < size; i++) {
        grown[i] = ids[(head + i) % ids.length];
      }
      ids = grown;
      head = 0;
    }
    ids[(head + size) % ids.length] = id;
    size++;
  }

  int size() {
    return size;
  }

  /** Forgets every id. */
  void clear() {
    head = 0;
    size = 0;
  }

  /** The ids of the {@code count} jobs that ended first, oldest first. */
  List<Long> oldest(int count) {
    checkCount(count);
    List<Long> oldest = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      oldest.add(ids[(head + i) % ids.length]);
    }
    return oldest;
  }

  /** Forgets the {@code count} jobs that ended first (pruned). */
  void removeOldest(int count) {
    checkCount(count);
    head = (head + count) % ids.length;
    size -= count;
  }

  /** Forgets the {@code count} jobs that ended last (added for a transaction that was rolled back). */
  void removeNewest(int count) {
    checkCount(count);
    size -= count;
  }

  private void checkCount(int count) {
    if (count < 0 || count > size) {
      throw new IllegalArgumentException(count + " of " + size + " ends");
    }
  }
}
