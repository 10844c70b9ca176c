package dev.offload.cli;

import dev.offload.proto.v1.Job;
import dev.offload.client.OffloadClient;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code offload status}: one job's record. */
@Command(name = "status", description = "Show a job's state, timings, worker and error.")
final class StatusCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = "--json", description = "Print the job record as JSON.")
  boolean json;

  @Override
  public Integer call() {
    try (OffloadClient client = server.connect()) {
      Job job = client.wire().get(jobId);
      var out = spec.commandLine().getOut();
      if (json) {
        out.println(JobJson.pretty(JobJson.of(job)));
        out.flush();
        return ExitCodes.OK;
      }
      Table table = new Table("id", job.getId())
          .row("handler", job.getHandler())
          .row("state", job.getState())
          .row("submitted", Instant.ofEpochMilli(job.getSubmittedAtMs()))
          .row("queued", DurationConverter.format(job.getQueuedMs()))
          .row("run", DurationConverter.format(job.getRunMs()))
          .row("worker pid", job.getWorkerPid() == 0 ? "-" : job.getWorkerPid())
          .row("attempts", job.getAttempts());
      if (job.hasError()) {
        table.row("error", job.getError().getCode() + ": " + job.getError().getMessage());
      }
      if (job.getDataDropped()) {
        table.row("data", "input and output dropped, error message cut to " + dev.offload.supervisor.job.Job.KEPT_ERROR_CHARS
            + " characters: " + JobPrinter.WHY_DROPPED);
      }
      table.print(out);
      return ExitCodes.OK;
    }
  }
}
