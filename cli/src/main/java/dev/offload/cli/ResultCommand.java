package dev.offload.cli;

import dev.offload.proto.v1.Job;
import dev.offload.client.OffloadClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code offload result}: a job's output, optionally waiting for it. */
@Command(name = "result", description = "Print a job's output JSON; exits as 'run' would for its state.")
final class ResultCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = "--wait", description = "Wait for the job to end if it has not.")
  boolean await;

  @Override
  public Integer call() {
    try (OffloadClient client = server.connect()) {
      Job job = await ? client.wire().watch(jobId, event -> {}) : client.wire().get(jobId);
      if (!dev.offload.supervisor.job.Job.isTerminal(job.getState())) {
        throw new CliException(ExitCodes.FAILED, "job " + jobId + " is " + job.getState() + " and has no result yet; add --wait to wait for it");
      }
      return JobPrinter.printEnded(job, false, spec.commandLine().getOut(), spec.commandLine().getErr());
    }
  }
}
