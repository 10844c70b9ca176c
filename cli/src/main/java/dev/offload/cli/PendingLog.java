package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What {@code batch --resume} needs to run no line twice, kept beside the output in {@code
 * OUTPUT.pending}: the batch's id, from which each line's idempotency key is made ({@link #key}),
 * and the lines that the service accepted and has not answered yet, whose results a resumed run
 * fetches by job id instead of running them again.
 *
 * <p>The file is a journal in JSON Lines, appended to as things happen and flushed at each line,
 * so that it costs two small writes per batch line and survives the batch being killed:
 * <ul>
 *   <li>{@code {"batch":"3f2c…"}}: the batch's id, a random UUID, first and once;
 *   <li>{@code {"line":12,"id":"a7","job":"42"}}: line 12 (id {@code a7}) was accepted as job 42;
 *   <li>{@code {"line":12,"answered":true}}: line 12's result is in the output.
 * </ul>
 * A line is pending while its last entry is the second kind. {@link #close} compacts the journal
 * to the batch's id and the pending lines; it deletes it only once the batch has answered every
 * line ({@link #complete}), as a line sent but never acknowledged (its job accepted by a service
 * killed before the acknowledgement reached the batch) is pending without an entry: only its key,
 * made from the batch's id again by {@code --resume}, finds its job. Only the pending lines are
 * held in memory: no more than the batch's window, plus those an earlier run left.
 */
final class PendingLog implements AutoCloseable {

  /** A pending line: its number and id in the input, and the id of its job. */
  record Entry(long line, String id, String job) {}

  /** What a journal holds: the batch's id (null in a journal of an offload before keys) and its pending lines. */
  record Journal(String batch, Map<Long, Entry> pending) {}

  private final Path path;
  private final String batch;
  private final Map<Long, Entry> pending;
  private final Map<Long, Entry> resumed;
  private Writer journal;
  private boolean complete;

  private PendingLog(Path path, String batch, Map<Long, Entry> pending) throws IOException {
    this.path = path;
    this.batch = batch;
    this.pending = pending;
    this.resumed = new ConcurrentHashMap<>(pending);
    // The journal starts as the pending lines an earlier run left, written in full before the
    // old journal is replaced, so that a run killed at any point leaves every pending line known.
    writeCompacted();
    this.journal = Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  /** Where the pending lines of a batch writing to {@code output} are kept. */
  static Path pathFor(Path output) {
    return output.resolveSibling(output.getFileName() + ".pending");
  }

  /**
   * Opens the journal beside {@code output}.
   *
   * @param resume whether to go on with what an earlier run left: its batch id and its pending
   *     lines; if false (or there is no journal), the batch gets a new id, and any earlier journal
   *     is replaced by an empty one, as the output is
   */
  static PendingLog open(Path output, boolean resume) throws IOException {
    Path path = pathFor(output);
    Journal earlier = resume ? readJournal(path) : new Journal(null, new HashMap<>());
    String batch = earlier.batch() != null ? earlier.batch() : UUID.randomUUID().toString();
    return new PendingLog(path, batch, earlier.pending());
  }

  /**
   * The lines pending in a journal: accepted and not answered. A last entry cut off mid-write
   * (the batch was killed) is ignored; an entry that is not a journal's says which line is wrong.
   */
  static Map<Long, Entry> read(Path path) throws IOException {
    return readJournal(path).pending();
  }

  /** The batch id and the pending lines of a journal; see {@link #read}. */
  static Journal readJournal(Path path) throws IOException {
    Map<Long, Entry> pending = new HashMap<>();
    String batch = null;
    if (!Files.exists(path)) {
      return new Journal(null, pending);
    }
    try (BufferedReader lines = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
      String text;
      long number = 0;
      while ((text = lines.readLine()) != null) {
        number++;
        if (text.isBlank()) {
          continue;
        }
        JsonNode entry;
        try {
          entry = Json.parse(text);
        } catch (IllegalArgumentException cutOff) {
          continue;
        }
        if (entry.path("batch").isTextual() && !entry.get("batch").asText().isEmpty()) {
          batch = entry.get("batch").asText();
          continue;
        }
        if (!entry.path("line").canConvertToLong()) {
          throw new IOException(path + " line " + number + " is not an entry of a batch's pending journal"
              + " (it has no \"line\"); move the file away to resume without it (its lines are then run again)");
        }
        long line = entry.get("line").asLong();
        if (entry.hasNonNull("job")) {
          pending.put(line, new Entry(line, entry.path("id").asText(), entry.get("job").asText()));
        } else {
          pending.remove(line);
        }
      }
    }
    return new Journal(batch, pending);
  }

  /** The batch's id: a random UUID, kept from run to run by {@code --resume}. */
  String batch() {
    return batch;
  }

  /**
   * The idempotency key of line {@code line}'s job: {@code BATCH:LINE} the first time the line
   * runs, {@code BATCH:LINE:N} once the output holds N results of it that did not succeed (each
   * {@code --resume} runs such a line again, as a new job). A run that is cut off before the
   * line's result is written leaves N as it was, so the next run sends the line with the same key,
   * and the service answers it with the job it holds instead of running it again.
   *
   * @param tries how many results of the line that did not succeed the output holds
   */
  String key(long line, int tries) {
    return keyFor(batch, line, tries);
  }

  /** See {@link #key}. */
  static String keyFor(String batch, long line, int tries) {
    return tries == 0 ? batch + ":" + line : batch + ":" + line + ":" + tries;
  }

  /**
   * Says that the batch has answered every line of its input: the journal then goes at {@link
   * #close} if nothing is pending, as a later {@code --resume} has nothing to find by key.
   */
  synchronized void complete() {
    complete = true;
  }

  /** Line {@code line} (id {@code id}) was accepted as job {@code job}. */
  synchronized void accepted(long line, String id, String job) throws IOException {
    Entry entry = new Entry(line, id, job);
    pending.put(line, entry);
    append(acceptedLine(entry));
  }

  /** Line {@code line}'s result is in the output (or it was skipped): it is no longer pending. */
  synchronized void answered(long line) throws IOException {
    resumed.remove(line);
    if (pending.remove(line) != null) {
      append(Json.write(Json.object().put("line", line).put("answered", true)));
    }
  }

  /**
   * The lines that were pending when this run began and have not been answered since, by line
   * number.
   */
  Map<Long, Entry> resumed() {
    return resumed;
  }

  /** How many lines are pending now. */
  synchronized int size() {
    return pending.size();
  }

  /** The journal's path. */
  Path path() {
    return path;
  }

  /**
   * Compacts the journal to the batch's id and the lines still pending; or deletes it once the
   * batch is {@link #complete} and no line is pending.
   */
  @Override
  public synchronized void close() throws IOException {
    if (journal == null) {
      return;
    }
    journal.close();
    journal = null;
    if (complete && pending.isEmpty()) {
      Files.deleteIfExists(path);
      return;
    }
    writeCompacted();
  }

  /** Replaces the journal, at once, with the batch's id and one entry per pending line. */
  private void writeCompacted() throws IOException {
    Path compacted = path.resolveSibling(path.getFileName() + ".tmp");
    try (BufferedWriter out = Files.newBufferedWriter(compacted, StandardCharsets.UTF_8)) {
      out.write(Json.write(Json.object().put("batch", batch)));
      out.write('\n');
      for (Entry entry : new TreeMap<>(pending).values()) {
        out.write(acceptedLine(entry));
        out.write('\n');
      }
    }
    Files.move(compacted, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String acceptedLine(Entry entry) {
    return Json.write(Json.object().put("line", entry.line()).put("id", entry.id()).put("job", entry.job()));
  }

  private void append(String text) throws IOException {
    if (journal == null) {
      return; // closed: the batch has ended, and what it wrote last is what the journal keeps
    }
    journal.write(text);
    journal.write('\n');
    journal.flush();
  }
}
