package dev.offload.supervisor.store;

import dev.offload.proto.v1.JobState;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * A store that several services share (PostgreSQL): one offload cluster. The queue of jobs that
 * no service has taken yet lives in the store, and each service takes from it only what its own
 * workers have room for ({@link #claim}).
 *
 * <p>What a {@link Store} records, a shared store records as this service's: a job {@link
 * #accepted} RUNNING is held by this service from the start; one accepted QUEUED goes to the
 * shared queue, for any service to claim. Every later write about a job ({@link #started}, {@link
 * #queued}, {@link #ended}) is fenced: it is applied only while this service still holds the job
 * under the claim it made. A write about a job that was taken from it (its lease expired, and
 * another service took the job over) changes nothing and completes with a {@link
 * FencedException}.
 *
 * <p>A service proves it is alive by a lease, renewed by the store's own heartbeat. When a
 * service's lease expires, any service on the store settles its jobs as after a crash: re-queued
 * if they have retries left, else FAILED {@link Recovery#SERVICE_LOST}.
 *
 * <p>The methods declared here block on the database: never call them on an event loop.
 * Thread-safe.
 */
public interface SharedStore extends Store {

  /** Told of what other services did; called on the store's listener thread, so it must not block. */
  interface Listener {
    /** Jobs were put in the shared queue (or may have been, after a lost connection): claim. */
    void jobsAvailable();

    /** A stop was asked, through any service, for a job this service holds. */
    void stopRequested(long id, JobState terminal, String code, String message);

    /**
     * These jobs ended (or may have, after a lost connection), on any service: their ends are to be
     * read from the store ({@link #find}).
     */
    void ended(long[] ids);

    /**
     * These jobs ended, on any service, as these records say: the ends came with the notification,
     * so nothing needs reading. Each record holds the end's fields only (state, output, error,
     * worker pid, attempts and timings); the others are empty or zero.
     */
    void endedAs(List<JobRecord> ends);

    /**
     * This service's lease expired before it could renew it (a pause, a cut network): the jobs it
     * held were settled by another service, and it now takes part under a new lease.
     */
    void leaseLost();
  }

  /** What a {@link #requestStop} found. */
  enum StopOutcome {
    /** The job was in the shared queue, held by nobody: it has ended now, as asked. */
    ENDED,
    /** A service holds it (this one or another): that service was told, and stops it. */
    HOLDER_TOLD,
    /** It had ended already, or there is no such job. */
    NOTHING_TO_STOP
  }

  /** This service's name in the cluster ({@code serve --name}). */
  String serviceName();

  /** Where the store learns how many jobs this service holds, for {@link ServiceRecord#jobsHeld}. */
  void reportHeld(IntSupplier jobsHeld);

  /** Starts telling the listener; call once, after {@link #open}. */
  void listen(Listener listener);

  /**
   * A new job id, unique in the cluster. Ids are taken from the store in blocks, ahead of need,
   * so this never waits for the database: it is called on the service's event loop.
   *
   * @throws StoreException if no block of ids is at hand (the database has been out of reach for
   *     a thousand submissions); the submission is refused, and may be made again
   */
  long newId();

  /**
   * Takes up to {@code max} jobs from the shared queue for this service, oldest first, skipping
   * those another service is taking at the same moment. They stay QUEUED, held by this service,
   * until {@link #started}. Empty while this service's lease is not current.
   */
  List<JobRecord> claim(int max);

  /**
   * Asks for a job to stop, wherever it is: a job in the shared queue ends now, with {@code
   * terminal}, {@code code} and {@code message}; the service holding one is told ({@link
   * Listener#stopRequested}), and its end follows from there.
   */
  StopOutcome requestStop(long id, JobState terminal, String code, String message);

  /** The job as the store has it now, if it is kept. */
  Optional<JobRecord> find(long id);

  /** Those of the jobs the store keeps, in no particular order. */
  List<JobRecord> find(Collection<Long> ids);

  /** Jobs in this state (all if null), the most recently submitted first, at most {@code limit}. */
  List<JobRecord> list(JobState state, int limit);

  /** The services whose lease is current, this one included. */
  List<ServiceRecord> services();

  /** Jobs in the shared queue: accepted, and held by no service yet. */
  long sharedQueueDepth();
}
