package dev.offload.cli;

import dev.offload.client.OffloadClient;
import dev.offload.client.ClientCredentials;
import dev.offload.supervisor.security.TokenFile;
import dev.offload.client.ServerTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --server}, {@code --token-file} and {@code --tls-ca} options of every client command. */
final class ServerOptions {

  @Option(
      names = "--server",
      paramLabel = "TARGET",
      description = "The service to talk to: unix:PATH or HOST:PORT (default: $OFFLOAD_SERVER, else unix:$${XDG_RUNTIME_DIR:-/tmp}/offload-$USER/offload.sock).")
  private String server;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "The service's token, for a service started with one (default: $OFFLOAD_TOKEN_FILE).")
  private Path tokenFile;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "The PEM certificate of the CA that signed a TLS service's certificate (default: $OFFLOAD_TLS_CA).")
  private Path tlsCa;

  /** The target named by --server, $OFFLOAD_SERVER or the default. */
  ServerTarget target() {
    try {
      return server == null ? ServerTarget.defaultTarget() : ServerTarget.parse(server);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    }
  }

  /** The token and CA named by the options or the environment; exit 2 if a file is unusable. */
  ClientCredentials credentials() {
    Path token = tokenFile != null ? tokenFile : fromEnvironment("OFFLOAD_TOKEN_FILE");
    Path ca = tlsCa != null ? tlsCa : fromEnvironment("OFFLOAD_TLS_CA");
    try {
      if (ca != null && !Files.isReadable(ca)) {
        throw new IllegalArgumentException("cannot read the TLS CA file " + ca);
      }
      return new ClientCredentials(token == null ? null : TokenFile.read(token, false), ca);
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
    try {
      return OffloadClient.connect(target, credentials());
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    }
  }

  private static Path fromEnvironment(String variable) {
    String value = System.getenv(variable);
    return value == null || value.isBlank() ? null : Path.of(value);
  }
}
