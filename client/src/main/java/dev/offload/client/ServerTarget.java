package dev.offload.client;

import java.nio.file.Path;

/**
 * Where an offload service listens and clients connect: {@code unix:PATH} (the default) or
 * {@code HOST:PORT}.
 */
public sealed interface ServerTarget {

  /** The environment variable clients read their default target from. */
  String ENV = "OFFLOAD_SERVER";

  /**
   * A Unix domain socket file.
   *
   * @param socket the socket file's path
   */
  record Unix(Path socket) implements ServerTarget {
    @Override
    public String toString() {
      return "unix:" + socket;
    }
  }

  /**
   * A TCP address.
   *
   * @param host a host name or IP address
   * @param port the port, 1 to 65535
   */
  record Tcp(String host, int port) implements ServerTarget {
    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /**
   * Parses {@code unix:PATH} or {@code HOST:PORT} ({@code [::1]:PORT} for IPv6).
   *
   * @param text the target as written
   * @return the target
   * @throws IllegalArgumentException with a message that shows the accepted forms
   */
  static ServerTarget parse(String text) {
    if (text.startsWith("unix:")) {
      String path = text.substring("unix:".length());
      if (path.isEmpty()) {
        throw new IllegalArgumentException("'" + text + "' names no socket file; write unix:/path/to/offload.sock");
      }
      return new Unix(Path.of(path).toAbsolutePath());
    }
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("'" + text + "' is not a target; write unix:PATH or HOST:PORT, for example 127.0.0.1:7000");
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("'" + text + "' has no valid port; write HOST:PORT with a port from 1 to 65535");
    }
    return new Tcp(host, port);
  }

  /**
   * The default: {@code $OFFLOAD_SERVER} if set, else
   * {@code unix:${XDG_RUNTIME_DIR:-/tmp}/offload-$USER/offload.sock}, where {@code $USER} is Java's
   * {@code user.name} (the password database's name for this uid), not the environment's.
   *
   * @return the default target
   * @throws IllegalArgumentException if {@code $OFFLOAD_SERVER} is set and not a target
   */
  static ServerTarget defaultTarget() {
    String fromEnv = System.getenv(ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return parse(fromEnv);
    }
    String runtimeDir = System.getenv("XDG_RUNTIME_DIR");
    Path base = Path.of(runtimeDir == null || runtimeDir.isBlank() ? "/tmp" : runtimeDir);
    return new Unix(base.resolve("offload-" + System.getProperty("user.name")).resolve("offload.sock"));
  }
}
