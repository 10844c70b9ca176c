package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import dev.offload.supervisor.store.Recovery;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What an earlier run of a batch already did, read from its output file: the ids it settled, and
 * how many times each line was answered without success (what its next idempotency key counts).
 * A last line cut off mid-write (the run was killed) is ignored, and {@link #prepareForAppend}
 * starts the new results on a line of their own.
 */
final class ResumeLog {

  private ResumeLog() {}

  /**
   * The lines an earlier run settled, by id: those that SUCCEEDED, and those whose job the service
   * lost while it ran once no retries were left (FAILED with {@code SERVICE_LOST}). A lost job may
   * have run, and its line allowed it no more runs than it had: running it again would break the
   * at-most-once promise of a job without retries (and the retry count of one with them).
   *
   * @param succeeded the ids that succeeded
   * @param lost the ids lost with their service, and not succeeded in a later line of the file
   * @param tries by line number, how many results of the line the file holds that did not
   *     succeed; lines with none are left out
   */
  record Settled(Set<String> succeeded, Set<String> lost, Map<Long, Integer> tries) {

    /** Nothing settled: a batch run afresh. */
    static Settled none() {
      return new Settled(Set.of(), Set.of(), Map.of());
    }

    /** Whether a line with this id is done: --resume neither runs nor fetches it again. */
    boolean contains(String id) {
      return succeeded.contains(id) || lost.contains(id);
    }

    /** How many results of line {@code line} did not succeed: see {@link PendingLog#key}. */
    int triesOf(long line) {
      return tries.getOrDefault(line, 0);
    }
  }

  /** What an earlier run settled (see {@link Settled}); nothing if the file does not exist. */
  static Settled settledIds(Path output) throws IOException {
    Set<String> succeeded = new HashSet<>();
    Set<String> lost = new HashSet<>();
    Map<Long, Integer> tries = new HashMap<>();
    if (!Files.exists(output)) {
      return new Settled(succeeded, lost, tries);
    }
    try (BufferedReader lines = Files.newBufferedReader(output)) {
      String line;
      while ((line = lines.readLine()) != null) {
        JsonNode result;
        try {
          result = Json.parse(line);
        } catch (IllegalArgumentException cutOff) {
          continue;
        }
        String state = result.path("state").asText();
        if (!state.equals("SUCCEEDED") && result.path("line").canConvertToLong()) {
          tries.merge(result.get("line").asLong(), 1, Integer::sum);
        }
        if (!result.hasNonNull("id")) {
          continue;
        }
        if (state.equals("SUCCEEDED")) {
          succeeded.add(result.get("id").asText());
        } else if (state.equals("FAILED") && Recovery.SERVICE_LOST.equals(result.path("error").path("code").asText())) {
          lost.add(result.get("id").asText());
        }
      }
    }
    lost.removeAll(succeeded);
    return new Settled(succeeded, lost, tries);
  }

  /**
   * Which of {@code lines} already have a result line in {@code output}, of any state: a batch
   * killed after it wrote a result and before it journalled that, leaves such a line pending.
   */
  static Set<Long> answered(Path output, Set<Long> lines) throws IOException {
    Set<Long> answered = new HashSet<>();
    if (lines.isEmpty() || !Files.exists(output)) {
      return answered;
    }
    try (BufferedReader results = Files.newBufferedReader(output)) {
      String line;
      while ((line = results.readLine()) != null) {
        JsonNode result;
        try {
          result = Json.parse(line);
        } catch (IllegalArgumentException cutOff) {
          continue;
        }
        if (result.path("line").canConvertToLong() && lines.contains(result.get("line").asLong())) {
          answered.add(result.get("line").asLong());
        }
      }
    }
    return answered;
  }

  /** Ends a partial last line with a newline, so appended results start on a line of their own. */
  static void prepareForAppend(Path output) throws IOException {
    if (!Files.exists(output) || Files.size(output) == 0) {
      return;
    }
    try (RandomAccessFile file = new RandomAccessFile(output.toFile(), "rw")) {
      file.seek(file.length() - 1);
      if (file.read() != '\n') {
        file.write('\n');
      }
    }
  }
}
