package dev.offload.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.offload.proto.v1.Job;
import dev.offload.sdk.Json;
import java.time.Instant;

/**
 * Job records as the CLI writes them in JSON: snake_case keys, input and output as JSON values
 * (numbers exact), absent values as null. These keys are a contract scripts rely on. A job whose
 * data the service dropped (see {@code serve --finished-memory}) has {@code "data_dropped": true}
 * and null input and output: not the job's values, which are gone.
 */
final class JobJson {

  private JobJson() {}

  static ObjectNode of(Job job) {
    ObjectNode node = Json.object();
    node.put("id", job.getId());
    node.put("handler", job.getHandler());
    node.put("state", job.getState().name());
    node.set("input", parsed(job.getInputJson()));
    node.set("output", parsed(job.getOutputJson()));
    if (job.hasError()) {
      ObjectNode error = node.putObject("error");
      error.put("code", job.getError().getCode());
      error.put("message", job.getError().getMessage());
      // What the handler threw, when it threw: its class and stack trace, for the one reading
      // the record to act on (null for failures that are not the handler's).
      String exceptionClass = job.getError().getExceptionClass();
      String stackTrace = job.getError().getStackTrace();
      error.put("exception_class", exceptionClass.isEmpty() ? null : exceptionClass);
      error.put("stack_trace", stackTrace.isEmpty() ? null : stackTrace);
    } else {
      node.putNull("error");
    }
    node.put("worker_pid", job.getWorkerPid());
    node.put("attempts", job.getAttempts());
    node.put("queued_ms", job.getQueuedMs());
    node.put("run_ms", job.getRunMs());
    node.put("submitted_at", Instant.ofEpochMilli(job.getSubmittedAtMs()).toString());
    node.put("timeout_ms", job.getTimeoutMs());
    node.put("deadline_ms", job.getDeadlineMs());
    node.put("retries", job.getRetries());
    node.put("data_dropped", job.getDataDropped());
    node.put("idempotency_key", job.getIdempotencyKey().isEmpty() ? null : job.getIdempotencyKey());
    return node;
  }

  /** Indented JSON text of a tree, for people and jq alike. */
  static String pretty(JsonNode node) {
    try {
      return Json.mapper().writer(SerializationFeature.INDENT_OUTPUT).writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not write JSON", e);
    }
  }

  private static JsonNode parsed(String json) {
    return json.isEmpty() ? NullNode.getInstance() : Json.parse(json);
  }
}
