package dev.offload.cli;

import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.client.OffloadClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code offload stats}: the pool's workers, queue and job counts. */
@Command(name = "stats", description = "Show the workers, the queue and job counts by state.")
final class StatsCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--json", description = "Print the figures as JSON.")
  boolean json;

  @Override
  public Integer call() {
    try (OffloadClient client = server.connect()) {
      GetPoolStatusResponse status = client.wire().poolStatus();
      var out = spec.commandLine().getOut();
      if (json) {
        out.println(JobJson.pretty(StatsView.toJson(status)));
        out.flush();
        return ExitCodes.OK;
      }
      StatsView.print(status, out);
      return ExitCodes.OK;
    }
  }
}
