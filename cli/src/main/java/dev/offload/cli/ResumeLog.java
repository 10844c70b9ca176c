package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * What an earlier run of a batch already did, read from its output file: the ids that SUCCEEDED.
 * A last line cut off mid-write (the run was killed) is ignored, and {@link #prepareForAppend}
 * starts the new results on a line of their own.
 */
final class ResumeLog {

  private ResumeLog() {}

  /** The ids whose result line in {@code output} says SUCCEEDED; empty if the file does not exist. */
  static Set<String> succeededIds(Path output) throws IOException {
    Set<String> ids = new HashSet<>();
    if (!Files.exists(output)) {
      return ids;
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
        if ("SUCCEEDED".equals(result.path("state").asText()) && result.hasNonNull("id")) {
          ids.add(result.get("id").asText());
        }
      }
    }
    return ids;
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
