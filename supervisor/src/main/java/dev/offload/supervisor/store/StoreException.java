package dev.offload.supervisor.store;

/**
 * A store that cannot be opened (in use by another service, written by a newer offload, not a
 * store at all) or cannot record a write (a full disk, a read-only file). Its message names the
 * store and says what to do.
 */
public class StoreException extends RuntimeException {

  private final boolean diskFull;

  public StoreException(String message) {
    this(message, null, false);
  }

  public StoreException(String message, Throwable cause) {
    this(message, cause, false);
  }

  /** @param diskFull whether the store could not write because its disk (or its size limit) is full */
  public StoreException(String message, Throwable cause, boolean diskFull) {
    super(message, cause);
    this.diskFull = diskFull;
  }

  /**
   * Whether the store could not write because its disk is full: a lack of a resource that freeing
   * space ends (the service answers RESOURCE_EXHAUSTED), rather than a store it may not or cannot
   * write at all (UNAVAILABLE).
   */
  public boolean diskFull() {
    return diskFull;
  }
}
