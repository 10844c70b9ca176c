package dev.offload.supervisor.job;

import dev.offload.proto.v1.JobError;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.store.FencedException;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.Store;
import dev.offload.supervisor.store.StoreException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job and its state machine: QUEUED, then RUNNING, then exactly one terminal state (a queued
 * job may also end CANCELLED directly, and a running one go back to QUEUED for a retry). Every
 * change is announced to the job's listeners, in order, and the terminal change exactly once.
 *
 * <p>Once it has ended, its data (input, output and error message) may be dropped to bound the
 * memory finished jobs hold ({@link #dropData}); its record stays, flagged {@code data_dropped}.
 *
 * <p>Its end is recorded in the service's {@link Store} before anyone is told of it: until the
 * store has committed it, the job is <em>ending</em> (no other end, stop or retry can take hold)
 * and shows the state it had; then its listeners get the terminal record. While the store cannot
 * write (a full disk), that lasts until it can again: the end is held in memory meanwhile. With a store that
 * records nothing, that happens at once, on the ending thread.
 *
 * <p>A service that stops with the job still QUEUED may leave it to the next service on its store
 * ({@link #keepForNextStart}): the job then stays QUEUED, here and in the store, and its listeners
 * are told that nothing more will come from this service.
 *
 * <p>Thread-safe. Listeners are called while the job's lock is held, which is what keeps their
 * events in order; so a listener must not block (writing to a gRPC stream does not).
 */
public final class Job {

  /** Follows a job until it ends, or until this service leaves it queued for the next one. */
  public interface Listener {
    /** A change of state or a progress report; after the one that carries the terminal record, nothing more comes. */
    void event(JobEvent event);

    /**
     * The service is stopping and leaves the job QUEUED in its store for the next service on it
     * ({@link #keepForNextStart}); nothing more comes from this service.
     */
    void kept(Job job);
  }

  /** A debug line per transition and a warning per failure, each naming the job and its handler. */
  private static final Logger LOG = LoggerFactory.getLogger(Job.class);

  /** How much of its error message a job keeps once its data is dropped. */
  public static final int KEPT_ERROR_CHARS = 1_000;

  private final long sequence;
  private final String id;
  private final String handler;
  /** Guarded by {@code this}: dropped once the job has ended and memory is short. */
  private String inputJson;
  private final long timeoutMillis;
  private final long deadlineMillis;
  private final int retries;
  /** The key it was submitted with (see {@link JobStore#admit}); null if none. */
  private final String idempotencyKey;
  /**
   * For a job with a key: completed once its acceptance is decided, normally when its record is
   * committed, exceptionally with the refusal if it was refused; what a repeated submission of the
   * key waits for. Null for a job without a key.
   */
  private final CompletableFuture<Void> acceptance;
  private final long submittedAtMillis;
  /** When it was accepted on the monotonic clock: what its deadline and wait are counted from. */
  private final long submittedNanos;
  /** Where its changes are recorded. */
  private final Store store;
  /** The end it is being recorded with, between {@link #end} and the store's commit; null otherwise. */
  private PendingEnd ending;

  private JobState state = JobState.QUEUED;
  private String outputJson = "";
  private JobError error;
  /** Bytes of input, output and error message this ended job holds ({@link HeapBytes}); 0 before its end and once dropped. */
  private long dataBytes;
  private boolean dataDropped;
  /** Bytes of input this job holds of the service's {@link PendingInputs}, until it ends or is discarded. */
  private long pendingInputBytes;
  private long workerPid;
  private int attempts;
  private long startedNanos;
  /** When its last attempt began, on the wall clock, for the store. */
  private long startedAtMillis;
  private long endedNanos;
  /** The terminal state a stop will end the job in (CANCELLED or TIMED_OUT), once asked; else null. */
  private JobState stopState;
  /** Why it is being stopped, for its record. */
  private JobError stopReason;
  /** Why its worker is being killed to stop it (the wait it outlived); null unless that happened. */
  private String killedToStopBecause;
  private final List<Listener> listeners = new ArrayList<>(2);
  /** Whether this service left the queued job to the next one on its store (see {@link #keepForNextStart}). */
  private boolean kept;
  /** Told once, after the terminal change: the job store's bookkeeping, not a watcher. */
  private final Consumer<Job> onEnd;

  /**
   * @param timeoutMillis the run-time limit of each attempt; 0 for none
   * @param deadlineMillis the wall-clock limit from now, queue time and every attempt included; 0
   *     for none
   * @param onEnd called once with the job when it has ended, after its listeners; must not block
   */
  public Job(long sequence, String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries,
      Store store, Consumer<Job> onEnd) {
    this(sequence, handler, inputJson, timeoutMillis, deadlineMillis, retries, null, store, onEnd);
  }

  /**
   * A job submitted with an idempotency key ({@code idempotencyKey} null for none): its acceptance
   * must be told to {@link #acceptanceDecided}.
   */
  public Job(long sequence, String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries,
      String idempotencyKey, Store store, Consumer<Job> onEnd) {
    this(sequence, handler, inputJson, timeoutMillis, deadlineMillis, retries, idempotencyKey, System.currentTimeMillis(),
        System.nanoTime(), store, onEnd);
    LOG.debug("{} ({}) queued", id, handler);
  }

  private Job(long sequence, String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries,
      String idempotencyKey, long submittedAtMillis, long submittedNanos, Store store, Consumer<Job> onEnd) {
    this.sequence = sequence;
    this.onEnd = onEnd;
    this.id = idOf(sequence);
    this.handler = handler;
    this.inputJson = inputJson;
    this.timeoutMillis = timeoutMillis;
    this.deadlineMillis = deadlineMillis;
    this.retries = retries;
    this.idempotencyKey = idempotencyKey;
    this.acceptance = idempotencyKey == null ? null : new CompletableFuture<>();
    this.submittedAtMillis = submittedAtMillis;
    this.submittedNanos = submittedNanos;
    this.store = store;
  }

  /**
   * A job as a store recorded it: one an earlier service left (QUEUED, its attempts so far
   * counted, or finished with its outcome and timings), or one of a shared store's, submitted or
   * run elsewhere (RUNNING there too). Its wait and deadline count from its acceptance, the time
   * the service was down included. A finished one does not call {@code onEnd}: the caller
   * remembers it.
   */
  static Job restored(JobRecord record, Store store, Consumer<Job> onEnd) {
    long ageNanos = Math.max(0, System.currentTimeMillis() - record.submittedAtMs()) * 1_000_000;
    long nowNanos = System.nanoTime();
    Job job = new Job(record.id(), record.handler(), record.inputJson(), record.timeoutMs(), record.deadlineMs(), record.retries(),
        record.idempotencyKey(), record.submittedAtMs(), nowNanos - ageNanos, store, onEnd);
    job.acceptanceDecided(null); // it was committed by the service that accepted it
    synchronized (job) {
      job.attempts = record.attempts();
      if (record.state() == JobState.RUNNING) {
        job.state = JobState.RUNNING;
        job.workerPid = record.workerPid();
        job.startedNanos = job.submittedNanos + record.queuedMs() * 1_000_000;
        job.startedAtMillis = record.startedAtMs();
      }
      if (record.finished()) {
        job.state = record.state();
        job.workerPid = record.workerPid();
        job.outputJson = record.outputJson();
        job.error = record.errorCode().isEmpty() && record.errorMessage().isEmpty() ? null
            : JobError.newBuilder().setCode(record.errorCode()).setMessage(record.errorMessage()).build();
        job.startedNanos = job.submittedNanos + record.queuedMs() * 1_000_000;
        job.endedNanos = job.startedNanos + record.runMs() * 1_000_000;
        job.dataBytes = HeapBytes.ofText(job.inputJson) + HeapBytes.ofText(job.outputJson)
            + (job.error == null ? 0 : HeapBytes.ofText(job.error.getMessage()));
      }
    }
    return job;
  }

  /** The id of the job with this sequence number. */
  public static String idOf(long sequence) {
    return "j-" + sequence;
  }

  /** The job as a record of it says, for a client: a job of a shared store that another service holds. */
  public static dev.offload.proto.v1.Job view(JobRecord record) {
    return restored(record, null, job -> {}).toProto();
  }

  public String id() {
    return id;
  }

  public long sequence() {
    return sequence;
  }

  public String handler() {
    return handler;
  }

  /** The input JSON; empty once the ended job's data was dropped. */
  public synchronized String inputJson() {
    return inputJson;
  }

  public long timeoutMillis() {
    return timeoutMillis;
  }

  /** The idempotency key it was submitted with; null if none. */
  public String idempotencyKey() {
    return idempotencyKey;
  }

  /**
   * Tells a job with a key how its acceptance was decided: accepted (its record committed) when
   * {@code refusal} is null, else refused with it. The first call decides; later ones, and any call
   * on a job without a key, do nothing.
   */
  public void acceptanceDecided(RuntimeException refusal) {
    if (acceptance == null) {
      return;
    }
    if (refusal == null) {
      acceptance.complete(null);
    } else {
      acceptance.completeExceptionally(refusal);
    }
  }

  /**
   * Runs {@code accepted} once this job, which has a key, is accepted, or {@code refused} with the
   * refusal if it is refused: at once, on this thread, if that is decided already, else on the
   * thread that decides it (the store's commit comes back on the service's I/O thread). Neither
   * may block.
   *
   * @throws IllegalStateException for a job without a key, whose acceptance nobody is told
   */
  public void whenAccepted(Runnable accepted, Consumer<RuntimeException> refused) {
    if (acceptance == null) {
      throw new IllegalStateException(this + " has no idempotency key: nothing follows its acceptance");
    }
    acceptance.whenComplete((ignored, refusal) -> {
      if (refusal == null) {
        accepted.run();
      } else {
        refused.accept((RuntimeException) refusal);
      }
    });
  }

  public long deadlineMillis() {
    return deadlineMillis;
  }

  /**
   * Whether its deadline has passed: on the monotonic clock, from its creation (when the service
   * accepted it). False for a job without one.
   */
  public boolean deadlinePassed() {
    return deadlineMillis > 0 && System.nanoTime() - submittedNanos >= deadlineMillis * 1_000_000;
  }

  public synchronized JobState state() {
    return state;
  }

  public synchronized boolean isTerminal() {
    return isTerminal(state);
  }

  public synchronized int attempts() {
    return attempts;
  }

  /** Whether the job may go back to the queue after losing its worker. */
  public synchronized boolean hasRetriesLeft() {
    return attempts <= retries;
  }

  public int retries() {
    return retries;
  }

  /** Whether someone asked this running job to stop. */
  public synchronized boolean isStopping() {
    return stopState != null;
  }

  /**
   * Records that the running job must stop, and in which terminal state it will end.
   *
   * @param terminal CANCELLED or TIMED_OUT
   * @return true if this is the first such request while RUNNING, so the caller stops it
   */
  public synchronized boolean requestStop(JobState terminal, String code, String message) {
    if (state != JobState.RUNNING || stopState != null || ending != null) {
      return false;
    }
    stopState = terminal;
    stopReason = JobError.newBuilder().setCode(code).setMessage(message).build();
    return true;
  }

  /**
   * Records that the job's worker is being killed because the job did not stop in time.
   *
   * @param because the wait it outlived, as a sentence's subject can follow it: "it did not stop
   *     within the cancel grace of 2000 ms"
   */
  public synchronized void noteKilledToStop(String because) {
    killedToStopBecause = because;
  }

  /** What {@link #noteKilledToStop} was told since the job last went to a worker; null if nothing. */
  public synchronized String killedToStopBecause() {
    return killedToStopBecause;
  }

  /**
   * Ends a job that was asked to stop, in the state and with the reason given then.
   *
   * @param how how it stopped, appended to the reason (for example that its worker was killed)
   */
  public synchronized boolean endStopped(String how) {
    if (stopState == null) {
      throw new IllegalStateException(this + " was not asked to stop");
    }
    String message = how.isEmpty() ? stopReason.getMessage() : stopReason.getMessage() + "; " + how;
    return end(stopState, "", stopReason.toBuilder().setMessage(message).build());
  }

  /** QUEUED to RUNNING on the worker with this pid; false if the job is no longer queued. */
  public synchronized boolean start(long pid) {
    if (state != JobState.QUEUED || ending != null) {
      return false;
    }
    state = JobState.RUNNING;
    workerPid = pid;
    attempts++;
    startedNanos = System.nanoTime();
    startedAtMillis = System.currentTimeMillis();
    if (LOG.isDebugEnabled()) {
      LOG.debug("{} ({}) running on worker pid {}, attempt {}", id, handler, pid, attempts);
    }
    announce();
    return true;
  }

  /**
   * RUNNING back to QUEUED as if it had never been sent, for a job that was sent to a worker ahead
   * of its turn and lost that worker before it started: no attempt is counted.
   */
  public synchronized boolean unstart() {
    if (state != JobState.RUNNING || ending != null) {
      return false;
    }
    state = JobState.QUEUED;
    attempts--;
    workerPid = 0;
    LOG.debug("{} ({}) queued again: its worker was lost before it started", id, handler);
    if (!store.recordsNothing()) {
      store.queued(record());
    }
    announce();
    return true;
  }

  /**
   * RUNNING back to QUEUED as if it had never been sent, recording nothing: its start could not be
   * recorded because another service of a shared store had taken it over, which now says what
   * becomes of it.
   */
  public synchronized void takenOver() {
    if (state == JobState.RUNNING && ending == null) {
      state = JobState.QUEUED;
      attempts--;
      workerPid = 0;
      LOG.info("{} ({}) was taken over by another service before it could start here", id, handler);
      announce();
    }
  }

  /** RUNNING back to QUEUED, for a retry after its worker was lost. */
  public synchronized boolean requeue() {
    if (state != JobState.RUNNING || ending != null) {
      return false;
    }
    state = JobState.QUEUED;
    stopState = null;
    stopReason = null;
    killedToStopBecause = null;
    LOG.debug("{} ({}) queued again for a retry", id, handler);
    if (!store.recordsNothing()) {
      store.queued(record());
    }
    announce();
    return true;
  }

  /** Ends the job SUCCEEDED with this output, unless it has already ended. */
  public boolean succeed(String output) {
    return end(JobState.SUCCEEDED, output, null);
  }

  /**
   * Ends the job in a terminal state other than SUCCEEDED, unless it has already ended.
   *
   * @return true if this call ended it
   */
  public boolean fail(JobState terminal, String code, String message) {
    return fail(terminal, JobError.newBuilder().setCode(code).setMessage(message).build());
  }

  /**
   * Ends the job in a terminal state other than SUCCEEDED with this error (a worker's, with the
   * handler's exception class and stack trace), unless it has already ended.
   *
   * @return true if this call ended it
   */
  public boolean fail(JobState terminal, JobError error) {
    return end(terminal, "", error);
  }

  private synchronized boolean end(JobState terminal, String output, JobError error) {
    if (isTerminal(state) || ending != null) {
      return false;
    }
    if (state == JobState.RUNNING) {
      endedNanos = System.nanoTime();
    } else {
      startedNanos = endedNanos = System.nanoTime();
    }
    if (store.recordsNothing()) {
      publishEnd(terminal, output, error);
      return true;
    }
    ending = new PendingEnd(terminal, output, error);
    store.ended(record(), this::endRecorded);
    return true;
  }

  /**
   * The store has committed the end; or it closed before it could (a store that cannot write holds
   * an end, and tries again, until it closes): the job then ends in memory all the same, as the
   * service stops, and the store's log names it.
   */
  private synchronized void endRecorded(StoreException failure) {
    if (failure instanceof FencedException) {
      // Its service's lease expired, and another service settled the job: what it became is theirs
      // to say, and its followers hear it from the shared store ({@link #publishRemoteEnd}).
      LOG.warn("{} ({}) ended {} here, but another service had taken it over meanwhile; its end there counts", id, handler,
          ending.state());
      ending = null;
      state = JobState.QUEUED;
      workerPid = 0;
      announce();
      return;
    }
    if (failure != null) {
      // Debug only: the store logs once every job whose end it could not record, not one line each.
      LOG.debug("{} ({}) ended {}, but the job store could not record it: {}", id, handler, ending.state(), failure.getMessage());
    }
    PendingEnd end = ending;
    ending = null;
    publishEnd(end.state(), end.output(), end.error());
  }

  /**
   * Ends a job that ended elsewhere (another service of a shared store ran it, or stopped it in the
   * shared queue), as its record says: its followers here are told, as of any end.
   *
   * @param record the job's record, finished
   * @return false if the job had ended here already, or is ending
   */
  public synchronized boolean publishRemoteEnd(JobRecord record) {
    if (!record.finished()) {
      throw new IllegalArgumentException(this + " has not ended in " + record);
    }
    if (isTerminal(state) || ending != null) {
      return false;
    }
    attempts = record.attempts();
    workerPid = record.workerPid();
    startedNanos = submittedNanos + record.queuedMs() * 1_000_000;
    endedNanos = startedNanos + record.runMs() * 1_000_000;
    startedAtMillis = record.startedAtMs();
    JobError err = record.errorCode().isEmpty() && record.errorMessage().isEmpty() ? null
        : JobError.newBuilder().setCode(record.errorCode()).setMessage(record.errorMessage()).build();
    publishEnd(record.state(), record.outputJson(), err);
    return true;
  }

  /**
   * Takes the attempts a shared store counted for a job this service follows and has just claimed:
   * another service may have run it before.
   */
  public synchronized void claimedAs(JobRecord record) {
    if (state == JobState.QUEUED && ending == null) {
      attempts = record.attempts();
    }
  }

  /** Makes the end visible, and tells the listeners and the job store. */
  private void publishEnd(JobState terminal, String output, JobError error) {
    this.state = terminal;
    this.outputJson = output;
    this.error = error;
    this.dataBytes = HeapBytes.ofText(inputJson) + HeapBytes.ofText(output)
        + (error == null ? 0 : HeapBytes.ofText(error.getMessage()) + HeapBytes.ofText(error.getStackTrace()));
    if (terminal == JobState.FAILED || terminal == JobState.TIMED_OUT) {
      LOG.warn("{} ({}) {}: {}: {}", id, handler, terminal, error.getCode(), error.getMessage());
    } else {
      LOG.debug("{} ({}) {}", id, handler, terminal);
    }
    announce();
    listeners.clear();
    onEnd.accept(this);
  }

  /**
   * Takes on {@code bytes} held for its input in the service's {@link PendingInputs}, to give them
   * back when it ends; returns false, taking nothing, if it has ended already.
   */
  public synchronized boolean holdPendingInput(long bytes) {
    if (isTerminal(state)) {
      return false;
    }
    pendingInputBytes = bytes;
    return true;
  }

  /** The bytes held for its input in the service's {@link PendingInputs}, now given up: 0 the second time. */
  public synchronized long takePendingInput() {
    long bytes = pendingInputBytes;
    pendingInputBytes = 0;
    return bytes;
  }

  /**
   * Bytes of the input, output and error message that this ended job holds ({@link HeapBytes}): what {@link
   * #dropData} would free. 0 while it runs (its input is owed to a worker) and once dropped.
   */
  public synchronized long dataBytes() {
    return dataBytes;
  }

  /**
   * Drops an ended job's input, output and handler stack trace and cuts its error message to
   * {@link #KEPT_ERROR_CHARS}; its record stays, flagged as dropped. Does nothing to a job that has not
   * ended or was dropped already.
   *
   * @return the bytes the job held, as {@link #dataBytes} counted them
   */
  public synchronized long dropData() {
    if (!isTerminal(state) || dataDropped) {
      return 0;
    }
    long freed = dataBytes;
    inputJson = "";
    outputJson = "";
    String message = error == null ? "" : error.getMessage();
    if (message.length() > KEPT_ERROR_CHARS) {
      int cut = Character.isHighSurrogate(message.charAt(KEPT_ERROR_CHARS - 1)) ? KEPT_ERROR_CHARS - 1 : KEPT_ERROR_CHARS;
      error = error.toBuilder().setMessage(message.substring(0, cut) + "…").build();
    }
    if (error != null && !error.getStackTrace().isEmpty()) {
      error = error.toBuilder().clearStackTrace().build();
    }
    dataDropped = true;
    dataBytes = 0;
    return freed;
  }

  public synchronized boolean isDataDropped() {
    return dataDropped;
  }

  /** Passes a progress report to the listeners, if the job is still running. */
  public synchronized void progress(JobProgress progress) {
    if (state != JobState.RUNNING || ending != null) {
      return;
    }
    JobEvent event = JobEvent.newBuilder().setProgress(progress).build();
    for (Listener listener : List.copyOf(listeners)) {
      listener.event(event);
    }
  }

  /**
   * Leaves this QUEUED job to the next service on the store, for a service that stops: it stays
   * QUEUED (its record in the store is not touched, so the next service runs it), its listeners
   * are told {@link Listener#kept} and dropped, and a listener added later is told so at once. A
   * job kept may still end here (cancelled, or its deadline passed, while the service stops): that
   * end is recorded as any other.
   *
   * @return false, changing nothing, if the job is not QUEUED (it runs, is ending or has ended)
   */
  public synchronized boolean keepForNextStart() {
    if (state != JobState.QUEUED || ending != null) {
      return false;
    }
    kept = true;
    LOG.debug("{} ({}) left queued for the next service on the store", id, handler);
    for (Listener listener : List.copyOf(listeners)) {
      listener.kept(this);
    }
    listeners.clear();
    return true;
  }

  /** Whether this service left the job, queued, to the next one on its store. */
  public synchronized boolean isKept() {
    return kept && state == JobState.QUEUED && ending == null;
  }

  /**
   * Adds a listener and hands it the job's current record at once. A listener added after the
   * end gets the terminal record and nothing more; one added to a job that was kept for the next
   * service ({@link #keepForNextStart}) gets its record and {@link Listener#kept}; listeners are
   * dropped after the terminal event.
   */
  public synchronized void subscribe(Listener listener) {
    listener.event(JobEvent.newBuilder().setJob(toProto()).build());
    if (isKept()) {
      listener.kept(this);
    } else if (!isTerminal(state)) {
      listeners.add(listener);
    }
  }

  /**
   * Like {@link #subscribe}, unless {@code max} listeners (watchers) follow the job already.
   *
   * @return false, without subscribing, if it has
   */
  public synchronized boolean trySubscribe(Listener listener, int max) {
    if (listeners.size() >= max) {
      return false;
    }
    subscribe(listener);
    return true;
  }

  public synchronized void unsubscribe(Listener listener) {
    listeners.remove(listener);
  }

  /** How long it waited: from submission to being sent to a worker, or to its end if never sent. */
  public synchronized long waitNanos() {
    return (state == JobState.QUEUED ? System.nanoTime() : startedNanos) - submittedNanos;
  }

  /** Whether it was ever sent to a worker (a job cancelled in the queue was not). */
  public synchronized boolean ranOnAWorker() {
    return attempts > 0;
  }

  /** How long it has been on workers: from being sent to a worker to its end (or now). */
  public synchronized long runNanos() {
    return switch (state) {
      case RUNNING -> System.nanoTime() - startedNanos;
      case QUEUED -> 0;
      default -> endedNanos - startedNanos;
    };
  }

  /**
   * The job as the store records it now: its end, once it is ending, with its output, error and
   * timings.
   */
  public synchronized JobRecord record() {
    JobState recorded = ending != null ? ending.state() : state;
    String output = ending != null ? ending.output() : outputJson;
    JobError err = ending != null ? ending.error() : error;
    long queuedMs = (ending != null || state != JobState.QUEUED ? startedNanos - submittedNanos : 0) / 1_000_000;
    long runMs = ending != null ? (endedNanos - startedNanos) / 1_000_000 : isTerminal(state) ? runNanos() / 1_000_000 : 0;
    return new JobRecord(sequence, handler, recorded, inputJson, output == null ? "" : output,
        err == null ? "" : err.getCode(), err == null ? "" : err.getMessage(), workerPid, attempts, retries, timeoutMillis,
        deadlineMillis, submittedAtMillis, state == JobState.QUEUED && ending == null ? 0 : startedAtMillis, Math.max(0, queuedMs),
        Math.max(0, runMs), idempotencyKey);
  }

  /** How long until its deadline passes, in milliseconds (0 if it has); for a job without one, 0. */
  public long deadlineRemainingMillis() {
    if (deadlineMillis == 0) {
      return 0;
    }
    return Math.max(0, deadlineMillis - (System.nanoTime() - submittedNanos) / 1_000_000);
  }

  /** The job's record now. */
  public synchronized dev.offload.proto.v1.Job toProto() {
    var job = dev.offload.proto.v1.Job.newBuilder()
        .setId(id)
        .setHandler(handler)
        .setState(state)
        .setInputJson(inputJson)
        .setOutputJson(outputJson)
        .setWorkerPid(workerPid)
        .setAttempts(attempts)
        .setQueuedMs(waitNanos() / 1_000_000)
        .setRunMs(runNanos() / 1_000_000)
        .setSubmittedAtMs(submittedAtMillis)
        .setTimeoutMs(timeoutMillis)
        .setDeadlineMs(deadlineMillis)
        .setRetries(retries)
        .setDataDropped(dataDropped);
    if (error != null) {
      job.setError(error);
    }
    if (idempotencyKey != null) {
      job.setIdempotencyKey(idempotencyKey);
    }
    return job.build();
  }

  private void announce() {
    if (listeners.isEmpty()) {
      return; // most jobs are watched by nobody: no record to build
    }
    JobEvent event = JobEvent.newBuilder().setJob(toProto()).build();
    for (Listener listener : List.copyOf(listeners)) {
      listener.event(event);
    }
  }

  /** An end on its way to the store. */
  private record PendingEnd(JobState state, String output, JobError error) {}

  public static boolean isTerminal(JobState state) {
    return switch (state) {
      case SUCCEEDED, FAILED, CANCELLED, TIMED_OUT -> true;
      default -> false;
    };
  }

  @Override
  public String toString() {
    return "job " + id + " (" + handler + ")";
  }
}
