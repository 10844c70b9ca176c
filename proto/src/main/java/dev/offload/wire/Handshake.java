package dev.offload.wire;

import java.util.Optional;

/**
 * The one line a worker writes on its standard output when it is ready to serve, and nothing
 * else ever: it carries a nonce the supervisor made up for this worker, so it cannot be confused
 * with anything else. A worker moves {@code System.out} to its log before any handler is loaded,
 * so a handler's printing never reaches the supervisor's pipe.
 */
public final class Handshake {

  /** The environment variable through which the supervisor passes the nonce. */
  public static final String NONCE_ENV = "OFFLOAD_WORKER_NONCE";

  private static final String READY = "OFFLOAD-WORKER-READY";

  private Handshake() {}

  /**
   * The ready line for this nonce and pid.
   *
   * @param nonce the nonce the supervisor passed in {@value #NONCE_ENV}
   * @param pid the worker's pid
   * @return the line, without its line end
   */
  public static String readyLine(String nonce, long pid) {
    return READY + " " + nonce + " " + pid;
  }

  /**
   * The pid in a ready line with this nonce, or empty if the line is anything else.
   *
   * @param line a line the worker wrote
   * @param nonce the nonce the supervisor passed to that worker
   * @return the worker's pid, or empty
   */
  public static Optional<Long> parseReady(String line, String nonce) {
    String prefix = READY + " " + nonce + " ";
    if (line == null || !line.startsWith(prefix)) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(line.substring(prefix.length()).trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
