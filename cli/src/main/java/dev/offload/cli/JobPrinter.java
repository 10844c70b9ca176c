package dev.offload.cli;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import java.io.PrintWriter;

/** How commands show a job that has ended: its output on stdout, or why not on stderr. */
final class JobPrinter {

  /** Why a finished job's data can be gone, and the flag that keeps more. */
  static final String WHY_DROPPED = "the service holds finished jobs' inputs, outputs and error messages only up to its"
      + " --finished-memory, dropping the oldest first; start it with a larger --finished-memory to keep more";

  private JobPrinter() {}

  /**
   * Prints a terminal job: with {@code json}, its whole record; otherwise its output JSON, or a
   * line on stderr saying how it ended.
   *
   * @return the exit code for its state
   * @throws CliException (exit 2, as for a job that has expired) if it succeeded but the service
   *     has dropped its output
   */
  static int printEnded(Job job, boolean json, PrintWriter out, PrintWriter err) {
    if (!json && job.getState() == JobState.SUCCEEDED && job.getDataDropped()) {
      throw new CliException(ExitCodes.USAGE, "job " + job.getId() + " SUCCEEDED, but its output was dropped: " + WHY_DROPPED);
    }
    if (json) {
      out.println(JobJson.pretty(JobJson.of(job)));
    } else if (job.getState() == JobState.SUCCEEDED) {
      out.println(job.getOutputJson());
    } else {
      err.println("offload: job " + job.getId() + " " + job.getState() + " (" + job.getError().getCode() + "): " + job.getError().getMessage());
    }
    out.flush();
    err.flush();
    return ExitCodes.forState(job.getState());
  }
}
