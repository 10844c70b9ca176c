package dev.offload.supervisor.store;

import dev.offload.proto.v1.JobState;
import dev.offload.wire.Utf8;
import java.util.ArrayList;
import java.util.List;

/**
 * The payload of a {@code offload_ended} notification: the jobs that ended in one commit, each
 * with its end when that is small, so that the service that follows a job learns how it ended
 * without reading it back from the database; a large end (a big output or error message) goes as
 * its id alone, to be read.
 *
 * <p>Entries are separated by {@code ,}. An entry is a job's id alone, or the id followed by
 * {@code :state:worker_pid:attempts:started_at_ms:queued_ms:run_ms:} and then output, error code
 * and error message, each as {@code LENGTH:TEXT} (LENGTH in UTF-16 chars, as Java counts them, so
 * that no character in the text needs escaping).
 *
 * <p>PostgreSQL takes a payload shorter than 8000 bytes; a payload here stays below {@link
 * #MAX_BYTES}, and an end is carried only if its entry takes at most {@link #MAX_CARRIED_BYTES}.
 * All services of a cluster must run the same offload, as for the schema: an older one reads ids
 * only.
 */
final class EndedPayload {

  /** The most UTF-8 bytes one payload takes: below PostgreSQL's 8000, with a margin. */
  static final int MAX_BYTES = 7_500;

  /** The most UTF-8 bytes one job's end takes in a payload; a larger end goes as its id, to be read back. */
  static final int MAX_CARRIED_BYTES = 3_000;

  private EndedPayload() {}

  /** What one payload said: the ends it carried, and the ids whose end must be read. */
  record Decoded(List<JobRecord> ends, long[] idsToRead) {}

  /**
   * The payloads for these ends, in order; ends too large to carry, and those in {@code idsOnly},
   * go as their ids.
   */
  static List<String> encode(List<JobRecord> ends, long[] idsOnly) {
    List<String> payloads = new ArrayList<>();
    StringBuilder payload = new StringBuilder();
    int[] bytes = {0};
    for (JobRecord end : ends) {
      String entry = entry(end);
      int size = (int) Math.min(Integer.MAX_VALUE, Utf8.length(entry));
      if (size > MAX_CARRIED_BYTES || entry.indexOf('\0') >= 0) {
        entry = Long.toString(end.id()); // PostgreSQL's text takes no NUL, and the payload's size is bounded
        size = entry.length();
      }
      add(payloads, payload, bytes, entry, size);
    }
    for (long id : idsOnly) {
      String entry = Long.toString(id);
      add(payloads, payload, bytes, entry, entry.length());
    }
    if (!payload.isEmpty()) {
      payloads.add(payload.toString());
    }
    return payloads;
  }

  private static void add(List<String> payloads, StringBuilder payload, int[] bytes, String entry, int size) {
    if (!payload.isEmpty() && bytes[0] + 1 + size > MAX_BYTES) {
      payloads.add(payload.toString());
      payload.setLength(0);
      bytes[0] = 0;
    }
    if (!payload.isEmpty()) {
      payload.append(',');
      bytes[0]++;
    }
    payload.append(entry);
    bytes[0] += size;
  }

  private static String entry(JobRecord end) {
    StringBuilder s = new StringBuilder(64 + end.outputJson().length() + end.errorMessage().length());
    s.append(end.id()).append(':').append(end.state().name()).append(':').append(end.workerPid()).append(':')
        .append(end.attempts()).append(':').append(end.startedAtMs()).append(':').append(end.queuedMs()).append(':')
        .append(end.runMs()).append(':');
    text(s, end.outputJson());
    text(s, end.errorCode());
    text(s, end.errorMessage());
    return s.toString();
  }

  private static void text(StringBuilder s, String text) {
    s.append(text.length()).append(':').append(text);
  }

  /**
   * Reads a payload. A carried end comes back as a record with the end's fields (state, output,
   * error, worker pid, attempts and timings) and empty or zero others: what a follower of the job
   * is told.
   *
   * @throws IllegalArgumentException if it is not such a payload
   */
  static Decoded decode(String payload) {
    List<JobRecord> ends = new ArrayList<>();
    List<Long> ids = new ArrayList<>();
    Reader r = new Reader(payload);
    while (!r.atEnd()) {
      long id = r.number();
      if (r.atEnd() || r.peek() == ',') {
        ids.add(id);
      } else {
        r.expect(':');
        JobState state = JobState.valueOf(r.until(':'));
        long pid = r.number();
        r.expect(':');
        int attempts = (int) r.number();
        r.expect(':');
        long startedAt = r.number();
        r.expect(':');
        long queued = r.number();
        r.expect(':');
        long run = r.number();
        r.expect(':');
        String output = r.text();
        String code = r.text();
        String message = r.text();
        ends.add(new JobRecord(id, "", state, "", output, code, message, pid, attempts, 0, 0, 0, 0, startedAt, queued, run));
      }
      if (!r.atEnd()) {
        r.expect(',');
      }
    }
    return new Decoded(ends, ids.stream().mapToLong(Long::longValue).toArray());
  }

  /** A cursor over a payload. */
  private static final class Reader {
    private final String s;
    private int at;

    Reader(String s) {
      this.s = s;
    }

    boolean atEnd() {
      return at >= s.length();
    }

    char peek() {
      return s.charAt(at);
    }

    void expect(char c) {
      if (atEnd() || s.charAt(at) != c) {
        throw new IllegalArgumentException("an offload_ended payload lacks '" + c + "' at " + at + ": " + abbreviated());
      }
      at++;
    }

    long number() {
      int from = at;
      if (!atEnd() && s.charAt(at) == '-') {
        at++;
      }
      while (!atEnd() && Character.isDigit(s.charAt(at))) {
        at++;
      }
      if (at == from) {
        throw new IllegalArgumentException("an offload_ended payload lacks a number at " + at + ": " + abbreviated());
      }
      return Long.parseLong(s, from, at, 10);
    }

    String until(char c) {
      int end = s.indexOf(c, at);
      if (end < 0) {
        throw new IllegalArgumentException("an offload_ended payload lacks '" + c + "' after " + at + ": " + abbreviated());
      }
      String part = s.substring(at, end);
      at = end + 1;
      return part;
    }

    String text() {
      int length = (int) number();
      expect(':');
      if (length < 0 || at + length > s.length()) {
        throw new IllegalArgumentException("an offload_ended payload's text of " + length + " chars at " + at
            + " runs past its end: " + abbreviated());
      }
      String text = s.substring(at, at + length);
      at += length;
      return text;
    }

    private String abbreviated() {
      return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
  }
}
