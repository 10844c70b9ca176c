package dev.offload.supervisor.store;

import dev.offload.proto.v1.JobState;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * One job as a store records it: a snapshot taken when a write is made.
 *
 * @param id the number of its id ({@code j-ID})
 * @param inputJson its input; written when the job is accepted, never again
 * @param outputJson its output once SUCCEEDED, else empty
 * @param errorCode its error's code once it ended otherwise, else empty
 * @param errorMessage its error's message, else empty
 * @param submittedAtMs when it was accepted, in milliseconds since the epoch
 * @param startedAtMs when its last attempt began, in milliseconds since the epoch; 0 before
 * @param queuedMs how long it waited before its last attempt (or its end, if it never ran)
 * @param runMs how long its last attempt ran, once it has ended
 * @param idempotencyKey the key it was submitted with, or null if none; written when the job is
 *     accepted, never again
 */
public record JobRecord(long id, String handler, JobState state, String inputJson, String outputJson, String errorCode,
    String errorMessage, long workerPid, int attempts, int retries, long timeoutMs, long deadlineMs, long submittedAtMs,
    long startedAtMs, long queuedMs, long runMs, String idempotencyKey) {

  /** A job submitted without an idempotency key. */
  public JobRecord(long id, String handler, JobState state, String inputJson, String outputJson, String errorCode,
      String errorMessage, long workerPid, int attempts, int retries, long timeoutMs, long deadlineMs, long submittedAtMs,
      long startedAtMs, long queuedMs, long runMs) {
    this(id, handler, state, inputJson, outputJson, errorCode, errorMessage, workerPid, attempts, retries, timeoutMs, deadlineMs,
        submittedAtMs, startedAtMs, queuedMs, runMs, null);
  }

  /** The record in the current row of a query on a store's {@code jobs} table (SQLite's or PostgreSQL's: same columns). */
  static JobRecord read(ResultSet r) throws SQLException {
    return new JobRecord(r.getLong("id"), r.getString("handler"), JobState.valueOf(r.getString("state")), r.getString("input_json"),
        r.getString("output_json"), r.getString("error_code"), r.getString("error_message"), r.getLong("worker_pid"),
        r.getInt("attempts"), r.getInt("retries"), r.getLong("timeout_ms"), r.getLong("deadline_ms"), r.getLong("submitted_at_ms"),
        r.getLong("started_at_ms"), r.getLong("queued_ms"), r.getLong("run_ms"), r.getString("idempotency_key"));
  }

  /** The same record in another state. */
  public JobRecord withState(JobState newState) {
    return new JobRecord(id, handler, newState, inputJson, outputJson, errorCode, errorMessage, workerPid, attempts, retries,
        timeoutMs, deadlineMs, submittedAtMs, startedAtMs, queuedMs, runMs, idempotencyKey);
  }

  /** Whether the job had ended when this was taken. */
  public boolean finished() {
    return switch (state) {
      case SUCCEEDED, FAILED, CANCELLED, TIMED_OUT -> true;
      default -> false;
    };
  }
}
