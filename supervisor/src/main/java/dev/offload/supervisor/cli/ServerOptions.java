package dev.offload.supervisor.cli;

import dev.offload.supervisor.client.OffloadClient;
import dev.offload.supervisor.server.ServerTarget;
import picocli.CommandLine.Option;

/** The {@code --server} option of every client command. */
final class ServerOptions {

  @Option(
      names = "--server",
      paramLabel = "TARGET",
      description = "The service to talk to: unix:PATH or HOST:PORT (default: $OFFLOAD_SERVER, else unix:$${XDG_RUNTIME_DIR:-/tmp}/offload-$USER/offload.sock).")
  private String server;

  /** The target named by --server, $OFFLOAD_SERVER or the default. */
  ServerTarget target() {
    try {
      return server == null ? ServerTarget.defaultTarget() : ServerTarget.parse(server);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    }
  }

  /** A client of the running service, or exit 3 if none answers. */
  OffloadClient connect() {
    ServerTarget target = target();
    if (!OffloadClient.answers(target)) {
      throw new CliException(ExitCodes.UNAVAILABLE,
          "no offload service answers at " + target + "; start one with 'offload serve' (or name another with --server)");
    }
    return OffloadClient.connect(target);
  }
}
