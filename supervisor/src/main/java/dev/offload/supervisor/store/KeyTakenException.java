package dev.offload.supervisor.store;

/**
 * A job not recorded because another job of a shared store holds its idempotency key already:
 * one accepted through another service of the cluster. The submission follows that job instead.
 */
public final class KeyTakenException extends StoreException {

  private final JobRecord holder;

  public KeyTakenException(JobRecord holder) {
    super("the idempotency key " + holder.idempotencyKey() + " is held by job j-" + holder.id() + " already");
    this.holder = holder;
  }

  /** The job that holds the key, as the store has it. */
  public JobRecord holder() {
    return holder;
  }
}
