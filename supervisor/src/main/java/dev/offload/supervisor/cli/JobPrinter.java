package dev.offload.supervisor.cli;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import java.io.PrintWriter;

/** How commands show a job that has ended: its output on stdout, or why not on stderr. */
final class JobPrinter {

  private JobPrinter() {}

  /**
   * Prints a terminal job: with {@code json}, its whole record; otherwise its output JSON, or a
   * line on stderr saying how it ended.
   *
   * @return the exit code for its state
   */
  static int printEnded(Job job, boolean json, PrintWriter out, PrintWriter err) {
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
