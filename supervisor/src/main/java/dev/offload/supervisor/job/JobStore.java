package dev.offload.supervisor.job;

import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.MemoryStore;
import dev.offload.supervisor.store.Recovery;
import dev.offload.supervisor.store.SharedStore;
import dev.offload.supervisor.store.Store;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Every job the supervisor knows, by id. Jobs that have ended are kept for status and result
 * queries within two bounds, so that a service runs in bounded memory whatever it is sent:
 *
 * <ul>
 *   <li>a count: past {@code keepFinished} finished jobs, the oldest are forgotten (expire);
 *   <li>bytes: past {@code finishedMemoryBytes} of data held by finished jobs (their input, output
 *       and error message, counted as {@link HeapBytes} does by {@link Job#dataBytes}), the oldest finished
 *       jobs' data are dropped ({@link Job#dropData}) while their records stay.
 * </ul>
 *
 * Both go oldest first, in the order jobs ended. Thread-safe.
 *
 * <p>This is the live state; the {@link Store} given to it records the jobs so that they outlive
 * the service, and gives them back to {@link #restore} at the next start. Ids go on from where
 * the store left them.
 *
 * <p>Jobs submitted with an idempotency key are also held by key, for as long as they are held at
 * all: a key is free again once its job is forgotten (expired past {@code keepFinished}, or
 * discarded because it was refused), or once its job ended CANCELLED. See {@link #admit}.
 */
public final class JobStore {

  private final int keepFinished;
  private final long finishedMemoryBytes;
  private final Consumer<Job> onEnd;
  private final Store store;
  private final AtomicLong sequence = new AtomicLong();
  private final Map<String, Job> byId = new ConcurrentHashMap<>();
  /** The jobs of {@link #byId} that have an idempotency key, by key. */
  private final Map<String, Job> byKey = new ConcurrentHashMap<>();
  /** The finished jobs remembered, in the order they ended. Guarded by {@code this}. */
  private final Deque<Job> finished = new ArrayDeque<>();
  /**
   * Those of {@link #finished} that still hold data, in the same order. Data are dropped oldest
   * first, so these are always the newest of them. Guarded by {@code this}.
   */
  private final Deque<Job> holdingData = new ArrayDeque<>();
  /** What the jobs of {@link #holdingData} hold, in bytes. Guarded by {@code this}. */
  private long dataBytes;

  /**
   * @param keepFinished how many ended jobs to remember at most
   * @param finishedMemoryBytes how many bytes of data ended jobs may hold at most
   * @param onEnd told of every job as it ends (for metrics); must not block
   */
  public JobStore(int keepFinished, long finishedMemoryBytes, Consumer<Job> onEnd) {
    this(keepFinished, finishedMemoryBytes, new MemoryStore(), onEnd);
  }

  /**
   * @param store where jobs are recorded; opened already
   */
  public JobStore(int keepFinished, long finishedMemoryBytes, Store store, Consumer<Job> onEnd) {
    this.keepFinished = keepFinished;
    this.finishedMemoryBytes = finishedMemoryBytes;
    this.store = store;
    this.onEnd = onEnd;
  }

  /** Where jobs are recorded. */
  public Store store() {
    return store;
  }

  /** Creates a QUEUED job and remembers it; see {@link Job#Job} for the limits. Records nothing yet. */
  public Job create(String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries) {
    return admit(handler, inputJson, timeoutMillis, deadlineMillis, retries, null).job();
  }

  /**
   * What {@link #admit} did: created {@code job}, or found it, created earlier with the same key.
   *
   * @param created true if the job is new: the caller submits it and decides its acceptance; false
   *     if another submission did, and this one only follows it ({@link Job#whenAccepted})
   */
  public record Admission(Job job, boolean created) {}

  /**
   * Creates a QUEUED job and remembers it, unless {@code idempotencyKey} is not null and a job
   * with that key is held already: then that job is returned, and nothing is created. A key whose
   * job ended CANCELLED is free again: a cancelled job has nothing to answer with, and the
   * submission that repeats its key asks for the work to be done (a batch that went away, by
   * Ctrl-C or a crash, cancels its jobs, and its --resume sends their lines again); the new job
   * takes the key, and the cancelled one keeps its record. Looking the key up and taking it for a
   * new job are one atomic step, so that of several submissions with one key at once, exactly one
   * creates a job. A new job with a key must be told whether it was accepted ({@link
   * Job#acceptanceDecided}), and {@link #discard}ed if not, which frees its key. Records nothing
   * yet.
   */
  public Admission admit(String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries,
      String idempotencyKey) {
    if (idempotencyKey == null) {
      Job job = newJob(handler, inputJson, timeoutMillis, deadlineMillis, retries, null);
      byId.put(job.id(), job);
      return new Admission(job, true);
    }
    while (true) {
      Job[] created = new Job[1];
      // computeIfAbsent runs the function at most once, atomically for the key: the one place two
      // submissions with a new key are told apart. Creating a job there is cheap, takes no lock
      // and never blocks.
      Job held = byKey.computeIfAbsent(idempotencyKey, key -> {
        Job job = newJob(handler, inputJson, timeoutMillis, deadlineMillis, retries, key);
        byId.put(job.id(), job);
        created[0] = job;
        return job;
      });
      if (held == created[0]) {
        return new Admission(held, true);
      }
      // Read outside the map's lock: a job's lock is taken before the map's when a job ends (see
      // remember), so never the other way round.
      if (held.state() != JobState.CANCELLED) {
        return new Admission(held, false);
      }
      Job job = newJob(handler, inputJson, timeoutMillis, deadlineMillis, retries, idempotencyKey);
      byId.put(job.id(), job);
      if (byKey.replace(idempotencyKey, held, job)) {
        return new Admission(job, true);
      }
      byId.remove(job.id()); // another submission took the key first: look again (its id is never used)
    }
  }

  private Job newJob(String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries, String key) {
    long id = store instanceof SharedStore shared ? shared.newId() : sequence.incrementAndGet();
    return new Job(id, handler, inputJson, timeoutMillis, deadlineMillis, retries, key, store,
        this::remembered);
  }

  /** The job held with this idempotency key, if any. */
  public Optional<Job> findByKey(String idempotencyKey) {
    return Optional.ofNullable(byKey.get(idempotencyKey));
  }

  /**
   * Takes back what the store kept from an earlier service: its finished jobs (remembered as if
   * they had just ended, in the order they ended, without telling {@code onEnd}) and the jobs it
   * left to run, returned QUEUED for the caller to queue. Ids go on from the store's next one.
   * Call once, before any job is created.
   */
  public List<Job> restore(Recovery recovery) {
    sequence.set(Math.max(sequence.get(), recovery.nextId() - 1));
    for (JobRecord record : recovery.finished()) {
      Job job = Job.restored(record, store, this::remembered);
      byId.put(job.id(), job);
      holdKey(job);
      synchronized (job) {
        remember(job);
      }
    }
    List<Job> queued = new ArrayList<>(recovery.queued().size());
    for (JobRecord record : recovery.queued()) {
      Job job = Job.restored(record, store, this::remembered);
      byId.put(job.id(), job);
      holdKey(job);
      queued.add(job);
    }
    return queued;
  }

  /**
   * The job this service follows under the record's id, or, if it follows none, a new one made
   * from the record and followed from now on: for a job of a shared store that this service
   * claimed, or that a client here asks about. A job that has not ended is followed as QUEUED,
   * whatever the record says, until this service runs it or hears of its end: here, RUNNING means
   * running on this service's workers.
   */
  public Job follow(JobRecord record) {
    Job known = byId.get(Job.idOf(record.id()));
    if (known != null) {
      return known;
    }
    Job job = Job.restored(record.finished() ? record : record.withState(JobState.QUEUED), store, this::remembered);
    Job raced = byId.putIfAbsent(job.id(), job);
    if (raced != null) {
      return raced;
    }
    holdKey(job);
    if (record.finished()) {
      synchronized (job) {
        remember(job);
      }
    }
    return job;
  }

  private void holdKey(Job job) {
    if (job.idempotencyKey() != null) {
      byKey.put(job.idempotencyKey(), job);
    }
  }

  /** Forgets a job that was never accepted (its submission was refused), and frees its key. */
  public void discard(Job job) {
    byId.remove(job.id());
    forgetKey(job);
  }

  private void forgetKey(Job job) {
    if (job.idempotencyKey() != null) {
      byKey.remove(job.idempotencyKey(), job);
    }
  }

  public Optional<Job> find(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  /** The jobs held, oldest first; only those in {@code state} unless it is null. */
  public List<Job> list(JobState state) {
    return byId.values().stream()
        .filter(j -> state == null || j.state() == state)
        .sorted(Comparator.comparingLong(Job::sequence))
        .toList();
  }

  /** How many jobs are held in each state. */
  public Map<JobState, Long> countByState() {
    Map<JobState, Long> counts = new EnumMap<>(JobState.class);
    for (Job job : byId.values()) {
      counts.merge(job.state(), 1L, Long::sum);
    }
    return counts;
  }

  /** The bytes of data that finished jobs hold now; never more than the bound once a job's end is recorded. */
  public synchronized long finishedDataBytes() {
    return dataBytes;
  }

  /**
   * Called by each job as it ends, with that job's lock held; takes this store's lock, then the
   * locks of the ended jobs whose data it drops. That order cannot deadlock: the one job whose lock
   * is held while this lock is asked for is the one ending now, which no other thread can be
   * dropping yet.
   */
  private void remembered(Job job) {
    onEnd.accept(job);
    remember(job);
  }

  /** Adds an ended job to those remembered, and applies both bounds. */
  private void remember(Job job) {
    synchronized (this) {
      finished.addLast(job);
      long bytes = job.dataBytes();
      if (bytes > 0) {
        holdingData.addLast(job);
        dataBytes += bytes;
      }
      while (finished.size() > keepFinished) {
        Job oldest = finished.pollFirst();
        byId.remove(oldest.id());
        forgetKey(oldest);
        if (holdingData.peekFirst() == oldest) {
          holdingData.pollFirst();
          dataBytes -= oldest.dropData(); // its record is gone; dropping lets the data go even if someone still holds the job
        }
      }
      while (dataBytes > finishedMemoryBytes && !holdingData.isEmpty()) {
        dataBytes -= holdingData.pollFirst().dropData();
      }
    }
  }
}
