package dev.offload.cli;

import dev.offload.proto.v1.SubmitJobRequest;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The {@code --timeout}, {@code --deadline} and {@code --retries} of every command that submits jobs. */
final class JobLimits {

  @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "Stop the job if it runs longer than this (500ms, 2s, 1m), counted on each attempt from when a worker"
          + " takes it; queue time is not counted. It then ends TIMED_OUT.")
  Duration timeout;

  @Option(names = "--deadline", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "End the job if it has not ended this long after the service accepted it (500ms, 2s, 1m): queue time"
          + " and every attempt count. Queued, it ends at once; running, it is stopped. It then ends TIMED_OUT with code"
          + " DEADLINE_EXCEEDED.")
  Duration deadline;

  @Option(names = "--retries", paramLabel = "N", defaultValue = "0",
      description = "Re-queue the job up to N times if its worker is lost (for idempotent jobs; default: ${DEFAULT-VALUE}).")
  int retries;

  /**
   * Sets the limits on a job.
   *
   * @throws CliException (exit 2) if --retries is negative
   */
  SubmitJobRequest.Builder applyTo(SubmitJobRequest.Builder request) {
    if (retries < 0) {
      throw new CliException(ExitCodes.USAGE, "--retries must be 0 or more, got " + retries);
    }
    request.setRetries(retries);
    if (timeout != null) {
      request.setTimeoutMs(Math.max(1, timeout.toMillis()));
    }
    if (deadline != null) {
      request.setDeadlineMs(Math.max(1, deadline.toMillis()));
    }
    return request;
  }
}
