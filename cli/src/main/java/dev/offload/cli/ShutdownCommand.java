package dev.offload.cli;

import dev.offload.proto.v1.ShutdownResponse;
import dev.offload.client.OffloadClient;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code offload shutdown}: an orderly, bounded stop of the service; returns once it has exited. */
@Command(name = "shutdown", description = "Stop the service: running jobs get the grace period, then everything ends. Waits until it has.")
final class ShutdownCommand implements Callable<Integer> {

  /** Beyond the grace: the service's cancel grace, kills and process exits. */
  private static final Duration SLACK = Duration.ofSeconds(30);

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--grace", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "How long running jobs may take to finish before they are cancelled (default: the service's, 10s).")
  Duration grace;

  @Override
  public Integer call() throws InterruptedException {
    try (OffloadClient client = server.connect()) {
      ShutdownResponse response = client.wire().shutdown(grace);
      var err = spec.commandLine().getErr();
      err.printf("offload: shutting down %s (%d running, %d queued jobs)%n", client.target().orElseThrow(), response.getRunningJobs(), response.getQueuedJobs());
      err.flush();
      Duration limit = (grace == null ? Duration.ofSeconds(10) : grace).plus(SLACK);
      if (!client.wire().awaitDisconnect(limit)) {
        throw new CliException(ExitCodes.FAILED, "the service at " + client.target().orElseThrow() + " was still up " + limit.toSeconds() + " s later");
      }
      err.println("offload: stopped");
      err.flush();
      return ExitCodes.OK;
    }
  }
}
