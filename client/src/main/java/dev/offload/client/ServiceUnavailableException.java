package dev.offload.client;

import java.util.Optional;

/**
 * The service could not be reached, its connection was lost, it is shutting down and takes no
 * more jobs, or its job store cannot record jobs for now (a full disk, a read-only file). The
 * message names the target and what to do (start the service, connect to where it listens, or
 * submit again once its store can write). A job whose connection was lost after it was accepted may still run, or have
 * ended, on the service.
 */
public final class ServiceUnavailableException extends OffloadException {

  private static final long serialVersionUID = 1L;

  private final transient ServerTarget target;

  ServiceUnavailableException(ServerTarget target, String message, Throwable cause) {
    super(message, cause);
    this.target = target;
  }

  /**
   * Where the client tried to reach the service.
   *
   * @return the target; empty for a client over a channel of the caller's (see {@link
   *     OffloadClient#over})
   */
  public Optional<ServerTarget> target() {
    return Optional.ofNullable(target);
  }
}
