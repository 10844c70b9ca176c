package dev.offload.supervisor.store;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;

/**
 * Where a service records its jobs so that they outlive it: each job's acceptance, its attempts
 * and its end. The live state stays in memory ({@link dev.offload.supervisor.job.JobStore}); a
 * store only records it, and gives it back after a restart ({@link #open}).
 *
 * <p>Writes never block their caller. Those with a {@link Completion} are committed in groups by
 * the store's own writer, and each group's completions are handed back, all at once, to the
 * executor given to {@link #open} (the service's I/O thread): at most one thread hand-off each
 * way per group, and never a wait on the caller's thread. A store may instead commit a few writes
 * on that executor itself, in a task of their own, while its writer is idle (the SQLite store does
 * so with {@code process} durability, where a commit costs less than two hand-offs); never more
 * than a quiet service's few, and never with an fsync of each commit (SQLite's periodic checkpoint
 * may still fall in one). Writes are committed in the order they were made, so a completion also
 * means that every earlier write is committed. A store that
 * {@link #recordsNothing records nothing} completes every write at once, on the caller's thread.
 *
 * <p>The contract leaves room for a store that several services share: ids come from the store
 * ({@link Recovery#nextId}), and what a store gives back at {@link #open} is what a service that
 * died left behind (its running jobs re-queued or ended {@code SERVICE_LOST}), as a lease's expiry
 * would.
 *
 * <p>Thread-safe.
 */
public interface Store extends AutoCloseable {

  /**
   * Told once a write, and every write before it, is committed (failure null), or could not be.
   * What a failure means depends on the write: see {@link #accepted}, {@link #started} and {@link
   * #ended}.
   */
  @FunctionalInterface
  interface Completion {
    /** @param failure null once committed; else why the write was not (the store names itself in it) */
    void done(StoreException failure);
  }

  /** {@code memory} or {@code sqlite}. */
  String kind();

  /** The store's URL as given, any password removed: what {@code stats} shows. */
  String url();

  /**
   * Opens the store for this service: takes it for this process, brings its schema up to date,
   * and settles what an earlier service left (see {@link Recovery}). Blocks; call it once, before
   * any write.
   *
   * @param completions where completions run: the service's I/O thread, a single thread
   * @param commitNanos told how long each commit took, in nanoseconds (for the service's metrics);
   *     called on the thread that committed (the store's writer, or the I/O thread), so it must not
   *     block
   * @throws StoreException if the store is in use by another service, was written by a newer
   *     offload, or cannot be read; nothing is changed then
   */
  Recovery open(Executor completions, LongConsumer commitNanos) throws StoreException;

  /** True if the store keeps nothing: every completion then runs at once, on the caller's thread. */
  boolean recordsNothing();

  /**
   * Ids below this are reserved: the store has committed that no service on it will give them to
   * another job, whatever happens to this one. A job with such an id may go to a worker before its
   * own record is committed. Grows as ids are used; {@link Long#MAX_VALUE} for a store that
   * records nothing.
   */
  long reservedIdsBelow();

  /**
   * Records a job as accepted (QUEUED, or already RUNNING if it went to a worker at once). If the
   * store cannot write, {@code done} is told why and nothing of the job is kept: the job must not
   * be accepted.
   */
  void accepted(JobRecord job, Completion done);

  /**
   * Records that these jobs are being sent to a worker: RUNNING, with their attempt counted. If
   * the store cannot write, {@code done} is told so at once, so that the caller may go on; the
   * store keeps the write and commits it, in its order, once it can.
   */
  void started(List<JobRecord> jobs, Completion done);

  /**
   * Records a job back in the queue: for a retry after its worker was lost, or sent ahead to a
   * worker that was lost before it began. Nobody waits for it.
   */
  void queued(JobRecord job);

  /**
   * Records a job's end: its terminal state, output or error, and timings. If the store cannot
   * write, it keeps the end and tries again until it can: {@code done} is told only once the end
   * is committed, or with a failure if the store closes first.
   */
  void ended(JobRecord job, Completion done);

  /**
   * Why the store cannot write now (its last commit failed), naming it and what to do; null while
   * it can, and always for one that keeps nothing.
   */
  default StoreException failure() {
    return null;
  }

  /** Writes the store could not commit yet and holds in memory, to commit once it can; 0 while it can write. */
  default int heldWrites() {
    return 0;
  }

  /** Bytes the store takes on disk; 0 for one that keeps nothing. */
  long sizeBytes();

  /** Jobs recorded in the store now, finished ones included (up to {@code --keep-finished} of those). */
  long jobsKept();

  /**
   * Commits every write made so far, then releases the store (its lock, its files). Blocks, for at
   * most a few seconds; later writes complete with a failure.
   */
  @Override
  void close();
}
