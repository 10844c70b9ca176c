package dev.offload.cli;

import dev.offload.proto.v1.Job;
import dev.offload.client.OffloadClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code offload cancel}: cancel a job and wait until it has stopped, which is bounded: a job that
 * ignores the request has its worker killed after the service's cancel grace.
 */
@Command(name = "cancel", description = "Cancel a job and wait until it has stopped.")
final class CancelCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Override
  public Integer call() {
    try (OffloadClient client = server.connect()) {
      Job before = client.wire().get(jobId);
      var out = spec.commandLine().getOut();
      if (dev.offload.supervisor.job.Job.isTerminal(before.getState())) {
        out.println(jobId + " had already ended " + before.getState());
      } else {
        client.wire().cancel(jobId);
        Job end = client.wire().watch(jobId, event -> {});
        out.println(jobId + " " + end.getState());
      }
      out.flush();
      return ExitCodes.OK;
    }
  }
}
