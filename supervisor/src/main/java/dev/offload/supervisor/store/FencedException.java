package dev.offload.supervisor.store;

/**
 * A write about a job that this service no longer holds: its lease expired, and another service
 * took the job over ({@link SharedStore}). The write changed nothing; what the job became is the
 * other service's to say.
 *
 * <p>One {@link Store#started} names several jobs and has one completion: {@link #ids} says which
 * of them were fenced (the others were recorded).
 */
public final class FencedException extends StoreException {

  private final long[] ids;

  public FencedException(String message) {
    this(message, new long[0]);
  }

  /** @param ids the jobs whose write was fenced */
  public FencedException(String message, long[] ids) {
    super(message);
    this.ids = ids.clone();
  }

  /** Whether this job's write was fenced: it is among {@link #ids}, or no ids were told (then all were). */
  public boolean covers(long id) {
    if (ids.length == 0) {
      return true;
    }
    for (long fenced : ids) {
      if (fenced == id) {
        return true;
      }
    }
    return false;
  }

  /** The jobs whose write changed nothing, because this service no longer holds them; empty if not told. */
  public long[] ids() {
    return ids.clone();
  }
}
