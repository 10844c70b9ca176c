package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading the fields the built-in handlers share, with errors that say what was expected. */
final class Inputs {

  private Inputs() {}

  /** The required {@code ms} field: a whole number of milliseconds, zero or more. */
  static long millis(JsonNode input, String handler) {
    JsonNode ms = input.isObject() ? input.get("ms") : null;
    if (ms == null || !ms.isIntegralNumber() || !ms.canConvertToLong() || ms.asLong() < 0) {
      throw new IllegalArgumentException(
          handler + " takes {\"ms\": N} with N a whole number of milliseconds >= 0, got " + input);
    }
    return ms.asLong();
  }
}
