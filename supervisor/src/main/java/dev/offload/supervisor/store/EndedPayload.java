package dev.offload.supervisor.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.proto.v1.JobState;
import dev.offload.sdk.Json;
import dev.offload.wire.Utf8;
import java.util.ArrayList;
import java.util.List;

/**
 * The payload of a {@code offload_ended} notification: the jobs that ended in one commit, each
 * with its end when that is small, so that the service that follows a job learns how it ended
 * without reading it back from the database; a large end (a big output or error message) goes as
 * its id alone, to be read.
 *
 * <p>A payload is a JSON array. An element is a job's id (a number), or its end: an object with
 * {@code id}, {@code state}, {@code worker_pid}, {@code attempts}, {@code started_at_ms}, {@code
 * queued_ms}, {@code run_ms}, {@code output}, {@code error_code} and {@code error_message}. A
 * payload of ids separated by commas, as offload sent before it carried ends, is read too.
 *
 * <p>PostgreSQL takes a payload shorter than 8000 bytes; a payload here stays below {@link
 * #MAX_BYTES}, and an end is carried only if its element takes at most {@link #MAX_CARRIED_BYTES}.
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
    Payloads payloads = new Payloads();
    for (JobRecord end : ends) {
      String element = Json.write(element(end));
      payloads.add(Utf8.length(element) <= MAX_CARRIED_BYTES ? element : Long.toString(end.id()));
    }
    for (long id : idsOnly) {
      payloads.add(Long.toString(id));
    }
    return payloads.done();
  }

  /** JSON arrays of elements already written, each array below {@link #MAX_BYTES}. */
  private static final class Payloads {
    private final List<String> done = new ArrayList<>();
    private final StringBuilder open = new StringBuilder();
    private long openBytes;

    void add(String element) {
      long bytes = Utf8.length(element);
      if (!open.isEmpty() && openBytes + 1 + bytes + 1 > MAX_BYTES) {
        close();
      }
      open.append(open.isEmpty() ? '[' : ',').append(element);
      openBytes += 1 + bytes;
    }

    private void close() {
      done.add(open.append(']').toString());
      open.setLength(0);
      openBytes = 0;
    }

    List<String> done() {
      if (!open.isEmpty()) {
        close();
      }
      return done;
    }
  }

  private static ObjectNode element(JobRecord end) {
    ObjectNode e = Json.object();
    e.put("id", end.id());
    e.put("state", end.state().name());
    e.put("worker_pid", end.workerPid());
    e.put("attempts", end.attempts());
    e.put("started_at_ms", end.startedAtMs());
    e.put("queued_ms", end.queuedMs());
    e.put("run_ms", end.runMs());
    e.put("output", end.outputJson());
    e.put("error_code", end.errorCode());
    e.put("error_message", end.errorMessage());
    return e;
  }

  /**
   * Reads a payload. A carried end comes back as a record with the end's fields (state, output,
   * error, worker pid, attempts and timings) and empty or zero others: what a follower of the job
   * is told.
   *
   * @throws IllegalArgumentException if it is not such a payload
   */
  static Decoded decode(String payload) {
    if (!payload.startsWith("[")) {
      return idsOnly(payload);
    }
    JsonNode array = Json.parse(payload, "an offload_ended payload");
    if (!array.isArray()) {
      throw new IllegalArgumentException("an offload_ended payload is not a JSON array: " + abbreviated(payload));
    }
    List<JobRecord> ends = new ArrayList<>();
    List<Long> ids = new ArrayList<>();
    for (JsonNode element : (ArrayNode) array) {
      if (element.canConvertToLong() && element.isIntegralNumber()) {
        ids.add(element.longValue());
      } else if (element.isObject()) {
        ends.add(end(element, payload));
      } else {
        throw new IllegalArgumentException("an offload_ended payload holds " + element + ", neither an id nor an end: " + abbreviated(payload));
      }
    }
    return new Decoded(ends, ids.stream().mapToLong(Long::longValue).toArray());
  }

  private static JobRecord end(JsonNode e, String payload) {
    for (String field : List.of("id", "state", "worker_pid", "attempts", "started_at_ms", "queued_ms", "run_ms", "output", "error_code", "error_message")) {
      if (!e.has(field)) {
        throw new IllegalArgumentException("an offload_ended payload's end lacks " + field + ": " + abbreviated(payload));
      }
    }
    JobState state;
    try {
      state = JobState.valueOf(e.get("state").asText());
    } catch (IllegalArgumentException unknown) {
      throw new IllegalArgumentException("an offload_ended payload names an unknown state " + e.get("state") + ": " + abbreviated(payload), unknown);
    }
    return new JobRecord(e.get("id").asLong(), "", state, "", e.get("output").asText(), e.get("error_code").asText(),
        e.get("error_message").asText(), e.get("worker_pid").asLong(), e.get("attempts").asInt(), 0, 0, 0, 0,
        e.get("started_at_ms").asLong(), e.get("queued_ms").asLong(), e.get("run_ms").asLong());
  }

  /** A payload of ids separated by commas, as offload sent before it carried ends. */
  private static Decoded idsOnly(String payload) {
    String[] parts = payload.isEmpty() ? new String[0] : payload.split(",");
    long[] ids = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        ids[i] = Long.parseLong(parts[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("an offload_ended payload is neither a JSON array nor ids separated by commas: " + abbreviated(payload), e);
      }
    }
    return new Decoded(List.of(), ids);
  }

  private static String abbreviated(String payload) {
    return payload.length() <= 200 ? payload : payload.substring(0, 200) + "…";
  }
}
