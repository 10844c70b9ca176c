package dev.offload.cli;

import dev.offload.proto.v1.Job;
import dev.offload.client.OffloadClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code offload submit}: queue a job on the running service and print its id. */
@Command(name = "submit", description = "Queue a job on the running service and print its id.")
final class SubmitCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;
  @Mixin JobRequestOptions job;

  @Option(names = "--json", description = "Print the job record as JSON instead of its id.")
  boolean json;

  @Override
  public Integer call() {
    var request = job.toRequest(System.in);
    try (OffloadClient client = server.connect()) {
      Job accepted = client.wire().submit(request);
      var out = spec.commandLine().getOut();
      out.println(json ? JobJson.pretty(JobJson.of(accepted)) : accepted.getId());
      out.flush();
      return ExitCodes.OK;
    }
  }
}
