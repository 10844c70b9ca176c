package dev.offload.supervisor.server;

import java.io.IOException;

/**
 * A directory refused because others can write to it, so they could replace what the service
 * keeps there; the message names it and says what to do. A usage error: the user chose it.
 */
public final class UnsafeDirectoryException extends IOException {

  public UnsafeDirectoryException(String message) {
    super(message);
  }
}
