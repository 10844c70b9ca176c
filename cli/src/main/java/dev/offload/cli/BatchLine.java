package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.sdk.Json;

/**
 * One line of a batch file: {@code {"id": "...", "handler": "...", "input": <JSON>, "timeout":
 * "5s", "deadline": "1m", "retries": 0}}. A line that cannot become a job carries the reason
 * instead.
 *
 * @param number the 1-based line number
 * @param id the line's id, or its line number when it gives none
 * @param request the job, or null when the line is invalid
 * @param invalid why the line is not a job, or null
 */
record BatchLine(long number, String id, SubmitJobRequest request, String invalid) {

  private static final DurationConverter DURATIONS = new DurationConverter();

  static BatchLine parse(long number, String text) {
    String fallbackId = Long.toString(number);
    JsonNode line;
    try {
      line = Json.parse(text);
    } catch (IllegalArgumentException e) {
      return invalid(number, fallbackId, "line " + number + ": " + e.getMessage());
    }
    if (!line.isObject()) {
      return invalid(number, fallbackId, "line " + number + " is not a JSON object like {\"handler\": \"echo\", \"input\": 1}");
    }
    JsonNode idNode = line.get("id");
    String id = idNode == null || idNode.isNull() ? fallbackId : idNode.isValueNode() ? idNode.asText() : null;
    if (id == null) {
      return invalid(number, fallbackId, "line " + number + ": \"id\" must be a string or a number");
    }
    JsonNode handler = line.get("handler");
    if (handler == null || !handler.isTextual() || handler.asText().isEmpty()) {
      return invalid(number, id, "line " + number + ": \"handler\" is missing; name one, for example \"handler\": \"is_prime\"");
    }
    var request = SubmitJobRequest.newBuilder()
        .setHandler(handler.asText())
        .setInputJson(line.has("input") ? Json.write(line.get("input")) : "null");
    JsonNode timeout = line.get("timeout");
    if (timeout != null && !timeout.isNull()) {
      try {
        request.setTimeoutMs(Math.max(1, DURATIONS.convert(timeout.asText()).toMillis()));
      } catch (RuntimeException e) {
        return invalid(number, id, "line " + number + ": \"timeout\": " + e.getMessage());
      }
    }
    JsonNode deadline = line.get("deadline");
    if (deadline != null && !deadline.isNull()) {
      try {
        request.setDeadlineMs(Math.max(1, DURATIONS.convert(deadline.asText()).toMillis()));
      } catch (RuntimeException e) {
        return invalid(number, id, "line " + number + ": \"deadline\": " + e.getMessage());
      }
    }
    JsonNode retries = line.get("retries");
    if (retries != null && !retries.isNull()) {
      if (!retries.canConvertToInt() || !retries.isIntegralNumber() || retries.asInt() < 0) {
        return invalid(number, id, "line " + number + ": \"retries\" must be a whole number >= 0, got " + retries);
      }
      request.setRetries(retries.asInt());
    }
    return new BatchLine(number, id, request.build(), null);
  }

  /** A line that could not be read as text (see {@link BatchInput}): its id is its number. */
  static BatchLine unreadable(long number, String why) {
    return invalid(number, Long.toString(number), why);
  }

  private static BatchLine invalid(long number, String id, String why) {
    return new BatchLine(number, id, null, why);
  }
}
