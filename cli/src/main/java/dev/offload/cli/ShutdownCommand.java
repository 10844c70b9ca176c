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

/**
 * {@code offload shutdown}: an orderly, bounded stop of the service; returns once it has exited.
 * Queued jobs stay queued in the service's store for its next start, unless {@code
 * --cancel-queued} (or a {@code memory:} store, which cannot keep them).
 */
@Command(name = "shutdown", description = "Stop the service: running jobs get the grace period, then everything ends; queued jobs"
    + " stay queued in the store for the next start (--cancel-queued cancels them). Waits until it has stopped.")
final class ShutdownCommand implements Callable<Integer> {

  /** Beyond the grace: the service's cancel grace, kills and process exits. */
  private static final Duration SLACK = Duration.ofSeconds(30);

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--grace", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "How long running jobs may take to finish before they are cancelled (default: the service's, 10s).")
  Duration grace;

  @Option(names = "--cancel-queued", description = "Cancel the queued jobs (CANCELLED, code SHUTDOWN) instead of leaving them queued"
      + " in the store for the service's next start. A service with --store memory: cancels them either way.")
  boolean cancelQueued;

  @Override
  public Integer call() throws InterruptedException {
    try (OffloadClient client = server.connect()) {
      ShutdownResponse response = client.wire().shutdown(grace, cancelQueued);
      var err = spec.commandLine().getErr();
      String queued = response.getQueuedJobs() == 0 ? "" : response.getQueuedKept()
          ? ": they stay queued in its store and run at its next start"
          : ": they are cancelled" + (cancelQueued ? "" : ", as its store keeps nothing (--store memory:)");
      err.printf("offload: shutting down %s (%d running, %d queued jobs%s)%n", client.target().orElseThrow(), response.getRunningJobs(),
          response.getQueuedJobs(), queued);
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
