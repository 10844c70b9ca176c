package dev.offload.cli;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * The result lines of a command that runs numbered jobs ({@code batch}, {@code each}): written as
 * they come, or, in input order, held back until every line numbered before them is written.
 * Numbers start at 1 and each is given once, with a line or with none (a job that writes nothing).
 * Each number's {@code onWritten} is told once its line is flushed (or, with none, once it would
 * have been): a command whose every job holds a window slot until then keeps what is held back
 * bounded by its window. Thread-safe; every line is flushed as it is written.
 */
final class OrderedLines {

  private final PrintWriter out;
  private final boolean ordered;
  private final LongConsumer onWritten;
  /** Held back for order, by number; "" for a number with no line. */
  private final Map<Long, String> waiting = new HashMap<>();
  private long next = 1;
  private boolean closed;

  /**
   * @param out where the lines go
   * @param ordered whether to write them in the order of their numbers
   * @param onWritten told each number once its line is written
   */
  OrderedLines(PrintWriter out, boolean ordered, LongConsumer onWritten) {
    this.out = out;
    this.ordered = ordered;
    this.onWritten = onWritten;
  }

  /**
   * Writes number's line now, or holds it until the lines before it are written. Ignored once
   * {@linkplain #close closed}.
   *
   * @param number the job's number, from 1
   * @param text the line, or null if the job writes none
   */
  synchronized void put(long number, String text) {
    if (closed) {
      return;
    }
    if (!ordered) {
      write(number, text);
      return;
    }
    waiting.put(number, text == null ? "" : text);
    while (waiting.containsKey(next)) {
      String line = waiting.remove(next);
      write(next, line.isEmpty() ? null : line);
      next++;
    }
  }

  /** Whether {@link #close} has been called: later lines are not written. */
  synchronized boolean isClosed() {
    return closed;
  }

  /**
   * Ends the output: lines still held back for order are written now, in order, with gaps where
   * earlier numbers have no line (a command that stopped early); lines that come after are not
   * written, so that the output ends with what the command counts.
   */
  synchronized void close() {
    closed = true;
    for (Map.Entry<Long, String> held : new TreeMap<>(waiting).entrySet()) {
      write(held.getKey(), held.getValue().isEmpty() ? null : held.getValue());
    }
    waiting.clear();
  }

  private void write(long number, String text) {
    if (text != null) {
      out.println(text);
      out.flush();
    }
    onWritten.accept(number);
  }
}
