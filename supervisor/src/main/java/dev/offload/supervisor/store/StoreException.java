package dev.offload.supervisor.store;

/**
 * A store that cannot be opened (in use by another service, written by a newer offload, not a
 * store at all) or cannot record a write (a full disk, a read-only file). Its message names the
 * store and says what to do.
 */
public final class StoreException extends RuntimeException {

  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
