package dev.offload.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code word_count}: what {@code wc} counts (lines, words, characters) and the most frequent
 * words, of a text given inline or of a UTF-8 file. A file is read in chunks, so its size is
 * bounded by the disk, not the heap; between chunks the handler checks for cancellation and
 * reports how far it has read.
 */
public final class WordCountHandler implements JobHandler {

  private static final String USAGE = "{\"text\": \"...\"} or {\"path\": \"FILE\"}, with \"top\": N (default 10)";
  private static final int CHUNK_CHARS = 64 * 1024;
  private static final int MAX_TOP = 10_000;

  @Override
  public String name() {
    return "word_count";
  }

  @Override
  public String description() {
    return "Lines, words and characters as wc counts them, and the N most frequent words; input " + USAGE;
  }

  @Override
  public String run(String inputJson, JobContext context) throws IOException {
    JsonNode input = Json.parse(inputJson);
    if (!input.isObject() || input.hasNonNull("text") == input.hasNonNull("path")) {
      throw new IllegalArgumentException("word_count takes " + USAGE + ", got " + input);
    }
    int top = top(input);
    Tally tally = new Tally();
    ObjectNode output = Json.object();
    if (input.hasNonNull("text")) {
      if (!input.get("text").isTextual()) {
        throw new IllegalArgumentException("word_count: \"text\" must be a string, got " + input.get("text"));
      }
      countText(input.get("text").asText(), tally, context);
    } else {
      Path path = Path.of(input.get("path").asText()).toAbsolutePath().normalize();
      output.put("path", path.toString());
      output.put("bytes", countFile(path, tally, context));
    }
    output.put("lines", tally.lines);
    output.put("words", tally.words);
    output.put("chars", tally.chars);
    var frequent = output.putArray("top");
    tally.counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
        .limit(top)
        .forEach(e -> frequent.addObject().put("word", e.getKey()).put("count", e.getValue()));
    return Json.write(output);
  }

  private static int top(JsonNode input) {
    JsonNode top = input.get("top");
    if (top == null || top.isNull()) {
      return 10;
    }
    if (!top.canConvertToInt() || !top.isIntegralNumber() || top.intValue() < 0 || top.intValue() > MAX_TOP) {
      throw new IllegalArgumentException("word_count: \"top\" is a whole number from 0 to " + MAX_TOP + ", got " + top);
    }
    return top.intValue();
  }

  private static void countText(String text, Tally tally, JobContext context) {
    char[] chars = text.toCharArray();
    for (int start = 0; start < chars.length; start += CHUNK_CHARS) {
      context.checkCancelled();
      tally.accept(chars, start, Math.min(CHUNK_CHARS, chars.length - start));
    }
    tally.finish();
  }

  /** Counts a file and returns its size in bytes. */
  private static long countFile(Path path, Tally tally, JobContext context) throws IOException {
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException("word_count: " + path + " is not a file");
    }
    long size = Files.size(path);
    long[] read = {0};
    InputStream bytes = new FilterInputStream(Files.newInputStream(path)) {
      @Override
      public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, length);
        read[0] += Math.max(n, 0);
        return n;
      }
    };
    // Bytes that are not UTF-8 are read as U+FFFD, one character each, as a text editor shows them.
    try (Reader reader = new InputStreamReader(bytes, StandardCharsets.UTF_8)) {
      char[] chunk = new char[CHUNK_CHARS];
      int n;
      while ((n = reader.read(chunk)) >= 0) {
        context.checkCancelled();
        tally.accept(chunk, 0, n);
        context.reportProgress(size == 0 ? 1.0 : (double) read[0] / size, "read " + read[0] / (1024 * 1024) + " of " + size / (1024 * 1024) + " MiB");
      }
    }
    tally.finish();
    return read[0];
  }

  /**
   * The counts, fed a chunk at a time. A wc word is a run of characters other than white space; a
   * word for {@code top} is a run of letters and digits (with apostrophes inside, as in "don't"),
   * in lower case, so that "The" and "the." count as one word.
   */
  private static final class Tally {
    long lines;
    long words;
    long chars;
    final Map<String, Long> counts = new HashMap<>();
    private boolean inWcWord;
    private final StringBuilder word = new StringBuilder();
    /** A high surrogate whose low half may come with the next chunk; 0 for none. */
    private char pendingHigh;

    void accept(char[] chunk, int offset, int length) {
      for (int i = offset; i < offset + length; i++) {
        char c = chunk[i];
        if (pendingHigh != 0) {
          char high = pendingHigh;
          pendingHigh = 0;
          if (Character.isLowSurrogate(c)) {
            accept(Character.toCodePoint(high, c));
            continue;
          }
          accept(high); // a lone half, counted as it is
        }
        if (Character.isHighSurrogate(c)) {
          pendingHigh = c;
        } else {
          accept(c);
        }
      }
    }

    void finish() {
      if (pendingHigh != 0) {
        accept(pendingHigh);
        pendingHigh = 0;
      }
      endWord();
    }

    private void accept(int codePoint) {
      chars++;
      if (codePoint == '\n') {
        lines++;
      }
      boolean space = Character.isWhitespace(codePoint);
      if (!space && !inWcWord) {
        words++;
      }
      inWcWord = !space;
      if (Character.isLetterOrDigit(codePoint)) {
        word.appendCodePoint(Character.toLowerCase(codePoint));
      } else if ((codePoint == '\'' || codePoint == '\u2019') && !word.isEmpty()) {
        word.append('\'');
      } else {
        endWord();
      }
    }

    private void endWord() {
      int end = word.length();
      while (end > 0 && word.charAt(end - 1) == '\'') {
        end--; // a closing quote, not part of the word
      }
      if (end > 0) {
        counts.merge(word.substring(0, end), 1L, Long::sum);
      }
      word.setLength(0);
    }
  }
}
