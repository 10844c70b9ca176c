package dev.offload.supervisor.job;

import dev.offload.proto.v1.ExecuteJobs;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.pool.Worker;
import dev.offload.supervisor.pool.WorkerLoss;
import dev.offload.supervisor.pool.WorkerPool;
import dev.offload.supervisor.store.FencedException;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.MemoryStore;
import dev.offload.supervisor.store.SharedStore;
import dev.offload.supervisor.store.Store;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pairs queued jobs with workers, and sees each job through to its one terminal state.
 *
 * <p>There is no dispatch thread. A job is sent on the thread that made the pairing possible: the
 * submitting thread when a worker has room, or the worker's I/O thread when results arrive and
 * jobs are waiting. Idle workers are reused most recently idle first (their JIT is hottest);
 * waiting jobs go first in, first out.
 *
 * <p>A worker runs one job at a time, but it may be sent more: while the jobs it holds are
 * expected (by {@link RunTimeEstimates}) to finish within {@link #SEND_AHEAD_BUDGET_NANOS}, it is
 * sent the next one too, up to {@link #MAX_JOBS_PER_WORKER}. Short jobs then never leave a worker
 * waiting a round trip for its next one, and jobs and results travel many to a message; long jobs
 * (and the first job of a handler) go one at a time, so no job waits behind a long one while
 * another worker is free. A job counts as RUNNING from when it is sent to its worker.
 *
 * <p>Each job's deadline runs from its acceptance to its end, whatever happens between: it ends a
 * queued job at once, stops a running one, and keeps a job that lost its worker from being retried
 * once it has passed. A timeout runs on each attempt, from the job's sending to its end.
 *
 * <p>Stopping a running job (cancel, timeout, deadline, shutdown) escalates: the worker is told,
 * and if the job is still on that same worker after the cancel grace, that worker process is
 * killed and the pool replaces it. The kill is tied to the job and the worker object (one
 * process), so a late timer can never hit the next job.
 *
 * <p>A job goes to its worker only once the {@link Store} has recorded it RUNNING with its attempt
 * counted, or will have before it records anything else: so after a crash a job that may have run
 * is never taken for one that did not (a job without retries is run at most once). A job that
 * finds a worker as it is submitted is recorded once, already RUNNING, and sent at once (unless it
 * has an idempotency key, which the key's next submission must find): until that record is
 * committed the client has not been told it was accepted, and a crash leaves no trace of it to
 * run again. Its id was reserved in the store beforehand ({@link
 * Store#reservedIdsBelow}), so that no later job is ever given it. A job that waited in the queue
 * is sent when the store's group commit of its start comes back, on the I/O thread; meanwhile it
 * is assigned to its worker, but counts apart from the jobs the worker holds (see {@link Load}),
 * so that a worker does not run dry while its next jobs' starts commit. With a store that records
 * nothing, jobs go at once.
 *
 * <p>With a {@link SharedStore} (several services on one PostgreSQL database), the queue is shared:
 * a job that finds no room on this service's workers as it is submitted goes to the shared queue
 * in the store, and any service's {@link #freeCapacity free workers} claim it from there ({@link
 * #claimed}). This service's own queue then holds only jobs it claimed, or took back after losing
 * their worker. A job submitted here but held elsewhere is followed here until its end ({@link
 * #endedElsewhere}).
 *
 * <p>The lock guards the queue, the idle workers, the jobs sent and the estimates only; sending to a worker,
 * waiting and spawning all happen outside it.
 */
public final class Dispatcher implements WorkerPool.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

  /** How much expected work a worker may hold before it is sent no more: what a job sent ahead may wait. */
  static final long SEND_AHEAD_BUDGET_NANOS = 1_000_000;

  /**
   * The most jobs one worker holds at a time, however short they are; the jobs waiting for the
   * store to record their start count apart (see {@link Load}).
   */
  static final int MAX_JOBS_PER_WORKER = 32;

  /**
   * The most jobs assigned to one worker that wait for the store to record their start, besides
   * those it holds: enough to cover a group commit at the busiest (see {@link Load}). Measured
   * with no-op jobs at in-flight 256, a worker sent ahead up to 32 jobs in all ran dry while their
   * starts committed.
   */
  static final int MAX_JOBS_AWAITING_START_PER_WORKER = 128;

  /** The error code of a job whose deadline (deadline_ms) passed, queued or running. */
  public static final String DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED";

  private final JobQueue queue;
  private final ScheduledExecutorService scheduler;
  private final Duration cancelGrace;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition runningShrank = lock.newCondition();
  /** Workers holding no job. */
  private final Deque<Worker> idle = new ArrayDeque<>();
  /** The jobs sent to each worker that holds any, in the order sent: the first is running. */
  private final Map<Worker, Deque<Job>> sent = new HashMap<>();
  /**
   * The jobs among {@link #sent} that wait for the store to record their start before they go: a
   * worker is not holding them yet, so they count apart (see {@link Load}).
   */
  private final Set<Job> awaitingStart = new HashSet<>();
  private final RunTimeEstimates runTimes = new RunTimeEstimates();
  /** Each running job's run-time limit (timeout_ms), from when its attempt was sent to a worker. */
  private final Map<Job, ScheduledFuture<?>> timeouts = new ConcurrentHashMap<>();
  /**
   * Each job's wall-clock limit (deadline_ms), from its acceptance to its end, across attempts;
   * cleared by {@link #jobEnded}.
   */
  private final Map<Job, ScheduledFuture<?>> deadlines = new ConcurrentHashMap<>();
  private boolean intakeOpen = true;
  /**
   * Whether the queued jobs are left to the next service on the store once intake has closed
   * ({@link #closeIntakeKeepingQueued}), rather than cancelled. Guarded by {@link #lock}.
   */
  private boolean keepQueued;
  private WorkerPool pool;
  private final Store store;
  /** The store as a shared one, if it is (the queue is shared); else null. */
  private final SharedStore shared;
  /** This service's submissions that wait in the shared queue, held by no service yet as far as it knows. */
  private final Set<Job> inSharedQueue = ConcurrentHashMap.newKeySet();
  /** Told, under the lock, whenever there is room to claim more (see {@link #freeCapacity}); must not block. */
  private Runnable roomToClaim = () -> {};
  /** How a stop reaches a job of this service's that waits in the shared queue. */
  private StopElsewhere stopElsewhere;

  /** Stops a job that another service may hold, through the shared store; must not block. */
  @FunctionalInterface
  public interface StopElsewhere {
    void stop(Job job, JobState terminal, String code, String message);
  }

  public Dispatcher(int maxQueue, Duration cancelGrace, ScheduledExecutorService scheduler) {
    this(maxQueue, cancelGrace, scheduler, new MemoryStore());
  }

  /** @param store where each job's acceptance, start and end are recorded (see the class comment) */
  public Dispatcher(int maxQueue, Duration cancelGrace, ScheduledExecutorService scheduler, Store store) {
    this.queue = new JobQueue(maxQueue);
    this.cancelGrace = cancelGrace;
    this.scheduler = scheduler;
    this.store = store;
    this.shared = store instanceof SharedStore s ? s : null;
  }

  /**
   * For a shared store: how this dispatcher tells the claimer that there is room to claim more (a
   * worker became idle, or took a job from this service's queue), and how it stops a job in the
   * shared queue. Call before the pool starts.
   */
  public void attachCluster(Runnable roomToClaim, StopElsewhere stopElsewhere) {
    this.roomToClaim = roomToClaim;
    this.stopElsewhere = stopElsewhere;
  }

  /**
   * Queues the jobs an earlier service left to run (see {@link JobStore#restore}), in their order,
   * whatever the queue's bound: they were accepted already. Their deadlines count from their
   * acceptance; one that has passed ends them at once.
   */
  public void restore(List<Job> jobs) {
    lock.lock();
    try {
      for (Job job : jobs) {
        queue.returnToBack(job);
        startDeadline(job);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Connects the pool whose workers this dispatcher feeds and whose lost workers it replaces. */
  public void attach(WorkerPool pool) {
    this.pool = pool;
  }

  /**
   * Accepts a QUEUED job: sends it to an idle worker now, or queues it; and records its acceptance.
   *
   * <p>The record is queued under the lock, so that it comes before any later record of the job
   * (its start, when a worker takes it from the queue; its end). A job sent at once is recorded
   * RUNNING and goes without waiting for the commit: see the class comment.
   *
   * @param accepted told once the store has committed the acceptance, or could not (then the job
   *     must be stopped and forgotten); on the store's completions executor, or on this thread
   *     after the job is handed on when the store records nothing. Never told if this throws.
   * @throws JobRejectedException if the queue is full or intake has stopped
   */
  public void submit(Job job, Store.Completion accepted) throws JobRejectedException {
    boolean recording = !store.recordsNothing();
    Worker worker;
    lock.lock();
    try {
      if (!intakeOpen) {
        throw new JobRejectedException(JobRejectedException.Reason.SHUTTING_DOWN,
            "the service is shutting down and takes no new jobs");
      }
      worker = idle.pollFirst();
      if (worker == null && queue.size() == 0) {
        worker = busyWorkerWithRoom();
      }
      if (worker == null && shared != null) {
        if (inSharedQueue.size() >= queue.capacity()) {
          throw new JobRejectedException(JobRejectedException.Reason.QUEUE_FULL,
              "this service has " + queue.capacity() + " jobs waiting in the cluster's shared queue already; retry later,"
                  + " submit through another service, or start this one with a larger --max-queue");
        }
        inSharedQueue.add(job);
      } else if (worker == null) {
        if (!queue.offer(job)) {
          throw new JobRejectedException(JobRejectedException.Reason.QUEUE_FULL,
              "the queue is full (" + queue.capacity() + " jobs wait already); retry later or start the service with a larger --max-queue");
        }
      } else {
        assign(worker, job);
      }
      startDeadline(job);
      if (recording && worker != null && (job.idempotencyKey() != null || job.sequence() >= store.reservedIdsBelow())) {
        // It waits for its record: a job with an idempotency key, lest a crash before the commit
        // leave no trace of a run that the key's next submission would run again; and one whose id
        // is not reserved yet (the writer lags far behind), lest the next service give it again.
        Worker assigned = worker;
        worker = null;
        store.accepted(job.record(), failure -> {
          accepted.done(failure);
          sendRecorded(assigned, List.of(job)); // even refused: it is stopping, and its worker is told so
        });
      } else if (recording) {
        store.accepted(job.record(), accepted);
      }
    } finally {
      lock.unlock();
    }
    if (worker != null) {
      executeAndRestop(worker, List.of(job));
    }
    if (!recording) {
      accepted.done(null);
    }
  }

  /**
   * Cancels a job: a queued one ends CANCELLED now; a running one is stopped by the escalation
   * described above and ends CANCELLED when it has. A job that has ended is left as it is.
   */
  public void cancel(Job job) {
    stop(job, JobState.CANCELLED, "CANCELLED", "cancelled by request");
  }

  /**
   * Withdraws a job whose acceptance the store refused: it must not run, and it ends CANCELLED here.
   * One meant for a shared queue never reached it, so nothing is asked of the other services.
   */
  public void withdraw(Job job) {
    if (inSharedQueue.remove(job)) {
      job.fail(JobState.CANCELLED, "CANCELLED", "the job was not accepted: its store could not record it");
    } else {
      cancel(job);
    }
  }

  /**
   * Stops a job the way {@link #cancel} does, but in {@code terminal} with {@code code} and {@code
   * message}: for a stop that another service of a shared store asked for.
   */
  public void stopAsAsked(Job job, JobState terminal, String code, String message) {
    stop(job, terminal, code, message);
  }

  /**
   * How many jobs this service may claim from a shared queue now: one for each idle worker, and
   * one more for each worker that is up, to wait in this service's own queue for the worker to
   * finish (so that a worker that finishes takes its next job from here at once, not after a
   * round trip to the database), less the jobs already waiting in its own queue; 0 once intake
   * has closed.
   */
  public int freeCapacity() {
    lock.lock();
    try {
      int workersUp = idle.size() + sent.size();
      return intakeOpen ? Math.max(0, idle.size() + workersUp - queue.size()) : 0;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs jobs claimed from the shared queue: each goes to an idle worker once its start is
   * recorded, or waits in this service's queue if none is idle any more. A job claimed while the
   * service stops is left for the next service, as a kept queued job.
   */
  public void claimed(List<Job> jobs) {
    Map<Worker, List<Job>> sends = new LinkedHashMap<>();
    List<Job> kept = new ArrayList<>();
    lock.lock();
    try {
      for (Job job : jobs) {
        inSharedQueue.remove(job);
        if (!intakeOpen) {
          kept.add(job);
          continue;
        }
        Worker worker = idle.pollFirst();
        if (worker == null) {
          queue.returnToBack(job);
        } else {
          assign(worker, job);
          sends.computeIfAbsent(worker, w -> new ArrayList<>(2)).add(job);
        }
        if (!deadlines.containsKey(job)) {
          startDeadline(job);
        }
      }
    } finally {
      lock.unlock();
    }
    kept.forEach(Job::keepForNextStart);
    sends.forEach(this::send);
  }

  /**
   * A job that this service followed but did not hold has ended elsewhere, as its record says: its
   * followers here are told.
   */
  public void endedElsewhere(Job job, JobRecord record) {
    lock.lock();
    try {
      inSharedQueue.remove(job);
      queue.remove(job);
    } finally {
      lock.unlock();
    }
    job.publishRemoteEnd(record);
  }

  /** Whether this service holds the job: in its queue, or on one of its workers. */
  public boolean holds(Job job) {
    lock.lock();
    try {
      if (inSharedQueue.contains(job)) {
        return false;
      }
      if (job.state() == JobState.RUNNING) {
        return true;
      }
      for (Deque<Job> jobs : sent.values()) {
        if (jobs.contains(job)) {
          return true;
        }
      }
      return queue.contains(job);
    } finally {
      lock.unlock();
    }
  }

  /** This service's submissions waiting in the shared queue (0 without a shared store). */
  public int inSharedQueue() {
    return inSharedQueue.size();
  }

  /**
   * Told of every job as it ends, however it ended (the job store's hook): drops its deadline
   * timer, which would otherwise hold the job until the deadline.
   */
  public void jobEnded(Job job) {
    ScheduledFuture<?> deadline = deadlines.remove(job);
    if (deadline != null) {
      deadline.cancel(false);
    }
  }

  public int queueDepth() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  public int maxQueue() {
    return queue.capacity();
  }

  /** The job a worker is running now, if any. */
  public Optional<Job> jobOn(Worker worker) {
    lock.lock();
    try {
      Deque<Job> jobs = sent.get(worker);
      return jobs == null ? Optional.empty() : Optional.of(jobs.peekFirst());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops intake: later submissions are refused, and every queued job ends CANCELLED with code
   * SHUTDOWN. Running jobs go on.
   *
   * @return how many jobs were queued
   */
  public int closeIntake() {
    List<Job> dropped;
    lock.lock();
    try {
      intakeOpen = false;
      dropped = queue.drain();
    } finally {
      lock.unlock();
    }
    dropped.forEach(j -> j.fail(JobState.CANCELLED, "SHUTDOWN", "the service shut down before the job ran"));
    List<Job> waitingElsewhere = List.copyOf(inSharedQueue);
    waitingElsewhere.forEach(j -> stopElsewhere.stop(j, JobState.CANCELLED, "SHUTDOWN",
        "the service it was submitted through shut down before the job ran"));
    return dropped.size() + waitingElsewhere.size();
  }

  /**
   * Stops intake for a service that stops but whose store keeps its jobs: later submissions are
   * refused, and every queued job is left QUEUED, here and in the store, for the next service on
   * that store ({@link Job#keepForNextStart}), its followers told so. From now on a job that loses
   * its worker with retries left, or that was sent ahead to a lost worker and had not begun, is
   * kept the same way instead of being cancelled. Running jobs go on.
   *
   * @return the jobs kept, in their queue order
   */
  public List<Job> closeIntakeKeepingQueued() {
    List<Job> kept;
    lock.lock();
    try {
      intakeOpen = false;
      keepQueued = true;
      kept = new ArrayList<>(queue.drain());
      // In a shared queue they stay there for any service; their followers here are told as if kept.
      kept.addAll(inSharedQueue);
      inSharedQueue.clear();
    } finally {
      lock.unlock();
    }
    // Outside the lock: it writes to the followers' streams.
    kept.forEach(Job::keepForNextStart);
    return kept;
  }

  /** Jobs sent to this worker and not yet ended: the running one and any sent ahead. */
  public int jobsHeldBy(Worker worker) {
    lock.lock();
    try {
      Deque<Job> jobs = sent.get(worker);
      return jobs == null ? 0 : jobs.size();
    } finally {
      lock.unlock();
    }
  }

  /** Jobs sent to workers and not yet ended. */
  public int runningCount() {
    lock.lock();
    try {
      return runningNow();
    } finally {
      lock.unlock();
    }
  }

  /** Waits until no job is running, at most {@code limit}; true if none is. */
  public boolean awaitNoneRunning(Duration limit) throws InterruptedException {
    long remaining = limit.toNanos();
    lock.lock();
    try {
      while (!sent.isEmpty() && remaining > 0) {
        remaining = runningShrank.awaitNanos(remaining);
      }
      return sent.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops every running job (for shutdown); each ends CANCELLED with code SHUTDOWN, its worker
   * killed if it has not stopped within the cancel grace.
   */
  public void stopAllRunning() {
    stopAllRunning(cancelGrace);
  }

  /**
   * Stops every running job as {@link #stopAllRunning()} does, but kills the worker of a job that
   * is still running after {@code killAfter}, even of a job already asked to stop with a longer
   * grace: for a shutdown that must end now.
   */
  public void stopAllRunning(Duration killAfter) {
    List<Job> jobs;
    lock.lock();
    try {
      jobs = sent.values().stream().flatMap(Deque::stream).toList();
    } finally {
      lock.unlock();
    }
    jobs.forEach(j -> stop(j, JobState.CANCELLED, "SHUTDOWN", "the service shut down while the job ran",
        "the service shut down while the job was queued", killAfter));
  }

  @Override
  public void onReady(Worker worker) {
    workerFree(worker);
  }

  @Override
  public void onRetired(Worker retired) {
    boolean wasIdle;
    lock.lock();
    try {
      wasIdle = idle.remove(retired);
    } finally {
      lock.unlock();
    }
    if (wasIdle) {
      pool.closeRetired(retired);
    }
  }

  @Override
  public void onProgress(Worker worker, String jobId, JobProgress progress) {
    Job job;
    lock.lock();
    try {
      job = find(sent.get(worker), jobId);
    } finally {
      lock.unlock();
    }
    if (job != null) {
      job.progress(progress);
    }
  }

  @Override
  public void onResults(Worker worker, List<JobResult> results) {
    List<Job> ended = new ArrayList<>(results.size());
    List<JobResult> outcomes = new ArrayList<>(results.size());
    List<Job> next;
    lock.lock();
    try {
      Deque<Job> jobs = sent.get(worker);
      for (JobResult result : results) {
        Job job = find(jobs, result.getJobId());
        if (job == null) {
          LOG.warn(worker + " sent a result for job " + result.getJobId() + ", which it was not sent; ignored");
          continue;
        }
        jobs.remove(job);
        runTimes.record(job.handler(), result.getRunNanos());
        ended.add(job);
        outcomes.add(result);
      }
      if (jobs != null && jobs.isEmpty()) {
        sent.remove(worker);
        runningShrank.signalAll();
      }
      next = refill(worker);
    } finally {
      lock.unlock();
    }
    // Without a store, the worker is made busy again first, while the results are handed out. With
    // one, the ends are recorded first: the next jobs go only once their start is committed, and
    // that commit then carries these ends too, so a crash never leaves a worker's finished job and
    // its next one both recorded RUNNING.
    boolean sendFirst = store.recordsNothing();
    if (sendFirst && next != null && !next.isEmpty()) {
      send(worker, next);
    }
    for (int k = 0; k < ended.size(); k++) {
      clearTimeout(ended.get(k));
      worker.countJobDone();
      complete(ended.get(k), outcomes.get(k));
    }
    if (!sendFirst && next != null && !next.isEmpty()) {
      send(worker, next);
    }
    if (!ended.isEmpty()) {
      pool.retirementReason(worker).ifPresent(why -> pool.retire(worker, why));
    }
    if (next == null) {
      pool.closeRetired(worker);
    }
  }

  private static void complete(Job job, JobResult result) {
    switch (result.getOutcomeCase()) {
      case OUTPUT_JSON -> job.succeed(result.getOutputJson());
      case ERROR -> job.fail(JobState.FAILED, result.getError());
      case CANCELLED -> {
        if (job.isStopping()) {
          job.endStopped("");
        } else {
          job.fail(JobState.CANCELLED, "CANCELLED", "the handler stopped as cancelled");
        }
      }
      case OUTCOME_NOT_SET -> job.fail(JobState.FAILED, "WORKER_ERROR", "the worker sent a result with no outcome");
    }
  }

  @Override
  public void onLost(Worker worker, WorkerLoss loss) {
    Job wasRunning = null;
    List<Job> notStarted = new ArrayList<>();
    List<Job> kept = new ArrayList<>();
    lock.lock();
    try {
      idle.remove(worker);
      Deque<Job> jobs = sent.remove(worker);
      runningShrank.signalAll();
      if (jobs != null) {
        wasRunning = jobs.pollFirst();
        // The rest never started: unless stopped, they are owed a worker, back at the front of the
        // queue in their order, with no attempt counted.
        for (Iterator<Job> behind = jobs.descendingIterator(); behind.hasNext(); ) {
          Job job = behind.next();
          if (intakeOpen && !job.isStopping() && !job.deadlinePassed() && job.unstart()) {
            // Its timer goes before another thread can take the job from the queue and start a new one.
            clearTimeout(job);
            queue.returnToFront(job);
          } else if (keepQueued && !job.isStopping() && !job.deadlinePassed() && job.unstart()) {
            clearTimeout(job);
            kept.add(job);
          } else {
            notStarted.add(job);
          }
        }
      }
    } finally {
      lock.unlock();
    }
    // Outside the lock: it writes to the followers' streams.
    kept.forEach(Job::keepForNextStart);
    for (Job job : notStarted) {
      clearTimeout(job);
      if (job.isStopping()) {
        job.endStopped("");
      } else if (job.deadlinePassed()) {
        job.fail(JobState.TIMED_OUT, DEADLINE_EXCEEDED, deadlineMessage(job, "before it started: its worker (pid " + worker.pid()
            + ") was lost with the job waiting its turn there"));
      } else {
        job.fail(JobState.CANCELLED, "SHUTDOWN", "the service shut down before the job ran");
      }
    }
    if (wasRunning != null) {
      clearTimeout(wasRunning);
      jobLostItsWorker(wasRunning, worker, loss);
    }
    dispatchWaiting();
    pool.replace(worker, loss);
  }

  private void jobLostItsWorker(Job job, Worker worker, WorkerLoss loss) {
    // The tail of its log says why a worker died by itself, from where this job began; one the
    // supervisor ended has nothing to add.
    String logTail = loss.deliberate() ? "" : worker.quoteLogSinceLastResult(5);
    if (job.isStopping()) {
      // Only the kill that escalated this stop may be blamed on the cancel grace: the worker may
      // have died by itself (or been killed for another reason) before the job stopped.
      String killedBecause = job.killedToStopBecause();
      job.endStopped(killedBecause != null
          ? killedBecause + ", so its worker (pid " + worker.pid() + ") was killed and replaced"
          : "its worker (pid " + worker.pid() + ") " + loss.words() + " before the job stopped" + logTail);
      return;
    }
    String cause = loss.words() + logTail;
    String message = "worker pid " + worker.pid() + " " + cause;
    if (job.hasRetriesLeft()) {
      if (requeue(job)) {
        LOG.info(job + " lost worker pid " + worker.pid() + "; retrying");
        dispatchWaiting();
        return;
      }
      if (keepsQueued() && !job.deadlinePassed() && job.requeue()) {
        // Recorded QUEUED with this attempt counted: the next service on the store retries it.
        job.keepForNextStart();
        LOG.info(job + " lost worker pid " + worker.pid() + " while the service stops; left queued for the next service on the store");
        return;
      }
      if (!intakeOpen()) {
        job.fail(JobState.CANCELLED, "SHUTDOWN", "the service shut down after the job lost its worker (" + message
            + "), so it was not retried");
        return;
      }
      if (job.deadlinePassed()) {
        job.fail(JobState.TIMED_OUT, DEADLINE_EXCEEDED, deadlineMessage(job, "before it could be retried; its attempt "
            + job.attempts() + " lost its worker: " + message));
        return;
      }
    }
    if (job.retries() > 0) {
      job.fail(JobState.FAILED, "POISON",
          "the job lost its worker on every one of its " + job.attempts() + " attempts, so it is not retried again; last: " + message);
    } else {
      job.fail(JobState.FAILED, "WORKER_LOST", message);
    }
  }

  /**
   * Puts a job that lost its worker back at the front of the queue, unless intake has stopped or
   * its deadline has passed. The deadline is read under the lock: its timer, which takes the lock
   * too, has either found the job nowhere and the deadline passed already, or it will find the
   * job in the queue.
   */
  private boolean requeue(Job job) {
    lock.lock();
    try {
      if (!intakeOpen || job.deadlinePassed() || !job.requeue()) {
        return false;
      }
      queue.returnToFront(job);
      return true;
    } finally {
      lock.unlock();
    }
  }

  private boolean keepsQueued() {
    lock.lock();
    try {
      return keepQueued;
    } finally {
      lock.unlock();
    }
  }

  private boolean intakeOpen() {
    lock.lock();
    try {
      return intakeOpen;
    } finally {
      lock.unlock();
    }
  }

  /** Gives waiting jobs to idle workers while both exist (after jobs went back to the queue). */
  private void dispatchWaiting() {
    while (true) {
      Worker worker;
      lock.lock();
      try {
        if (queue.size() == 0) {
          return;
        }
        worker = idle.pollFirst();
      } finally {
        lock.unlock();
      }
      if (worker == null) {
        return;
      }
      workerFree(worker); // takes at least one job, or leaves the idle stack for good
    }
  }

  /** A worker is ready, or was found idle: give it what is waiting, or put it on the idle stack. */
  private void workerFree(Worker worker) {
    List<Job> next;
    lock.lock();
    try {
      next = refill(worker);
    } finally {
      lock.unlock();
    }
    if (next == null) {
      pool.closeRetired(worker);
    } else if (!next.isEmpty()) {
      send(worker, next);
    }
  }

  /**
   * Under the lock, after a worker's jobs have ended: takes from the queue what the worker may
   * hold now and assigns it. A worker left holding nothing goes on the idle stack. A dead worker
   * gets nothing: onLost owns it now, and a job given to it here could wait forever for a result
   * that will never come.
   *
   * @return the jobs to send it (perhaps none), or null if it is retired and holds nothing, so the
   *     caller closes it (the flag is read under the lock, which is what makes this and {@link
   *     #onRetired} agree on who closes it)
   */
  private List<Job> refill(Worker worker) {
    if (!worker.isAlive()) {
      return List.of();
    }
    Deque<Job> held = sent.get(worker);
    if (worker.isRetired()) {
      return held == null ? null : List.of();
    }
    List<Job> next = new ArrayList<>();
    boolean recording = !store.recordsNothing();
    Load load = loadOf(held);
    for (Job job = queue.peek(); job != null && load.roomForMore(); job = queue.peek()) {
      queue.poll();
      assign(worker, job);
      if (recording) {
        awaitingStart.add(job); // until its start is recorded: see send
      }
      load.add(runTimes.nanos(job.handler()), recording);
      next.add(job);
      held = sent.get(worker);
    }
    if (held == null) {
      idle.push(worker);
    }
    if (held == null || !next.isEmpty()) {
      roomToClaim.run(); // room to claim more from a shared queue: a worker idle, or the queue shorter
    }
    return next;
  }

  /** Under the lock: a busy worker that can take one more job ahead of the ones it holds, least loaded first. */
  private Worker busyWorkerWithRoom() {
    Worker best = null;
    int fewest = Integer.MAX_VALUE;
    for (Map.Entry<Worker, Deque<Job>> entry : sent.entrySet()) {
      Worker worker = entry.getKey();
      int held = entry.getValue().size();
      if (held < fewest && !worker.isRetired() && worker.isAlive() && loadOf(entry.getValue()).roomForMore()) {
        best = worker;
        fewest = held;
      }
    }
    return best;
  }

  /** Under the lock: the load of a worker holding these jobs (null: none). */
  private Load loadOf(Deque<Job> held) {
    Load load = new Load();
    if (held != null) {
      for (Job job : held) {
        load.add(runTimes.nanos(job.handler()), awaitingStart.contains(job));
      }
    }
    return load;
  }

  /**
   * What a worker holds, as far as sending it one more job goes: it may be sent one while the
   * jobs it holds are expected to end within {@link #SEND_AHEAD_BUDGET_NANOS} (so the next waits
   * no longer) and it has fewer than {@link #MAX_JOBS_PER_WORKER}. The jobs whose start the store
   * is recording count towards the budget, since they will run behind the others, but not towards
   * that cap: they have {@link #MAX_JOBS_AWAITING_START_PER_WORKER} of their own. A worker's next
   * jobs go only once a group commit comes back, and it would otherwise run dry while it waits
   * whenever its jobs are shorter than a commit. (So a worker may briefly hold more than the cap,
   * once those starts commit; it is then sent no more until it holds fewer.)
   */
  static final class Load {
    private int atWorker;
    private int awaitingStart;
    private long expectedNanos;

    void add(long runNanos, boolean awaitingItsStart) {
      if (awaitingItsStart) {
        awaitingStart++;
      } else {
        atWorker++;
      }
      // An unknown run time (a handler's first job) is as long as can be: nothing goes behind it.
      boolean unbounded = runNanos == RunTimeEstimates.UNKNOWN || expectedNanos > Long.MAX_VALUE - runNanos;
      expectedNanos = unbounded ? Long.MAX_VALUE : expectedNanos + runNanos;
    }

    boolean roomForMore() {
      return atWorker + awaitingStart == 0
          || (expectedNanos <= SEND_AHEAD_BUDGET_NANOS && atWorker < MAX_JOBS_PER_WORKER && awaitingStart < MAX_JOBS_AWAITING_START_PER_WORKER);
    }
  }

  private int runningNow() {
    int count = 0;
    for (Deque<Job> jobs : sent.values()) {
      count += jobs.size();
    }
    return count;
  }

  private static Job find(Deque<Job> jobs, String id) {
    if (jobs != null) {
      for (Job job : jobs) {
        if (job.id().equals(id)) {
          return job;
        }
      }
    }
    return null;
  }

  /** Under the lock: records the pairing, marks the job RUNNING and starts its run-time limit. */
  private void assign(Worker worker, Job job) {
    sent.computeIfAbsent(worker, w -> new ArrayDeque<>(4)).addLast(job);
    job.start(worker.pid());
    if (job.timeoutMillis() > 0) {
      ScheduledFuture<?> previous = timeouts.put(job, scheduler.schedule(
          () -> stop(job, JobState.TIMED_OUT, "TIMED_OUT", "the job ran longer than its timeout of " + job.timeoutMillis() + " ms"),
          job.timeoutMillis(), TimeUnit.MILLISECONDS));
      if (previous != null) {
        previous.cancel(false); // an earlier attempt's, which must not time this one out
      }
    }
  }

  /**
   * Sends jobs assigned to a worker, once the store has recorded their start. If it cannot yet (a
   * full disk), they are sent all the same, so that the service goes on, and the store records the
   * start once it can: a crash before then could run them again.
   */
  private void send(Worker worker, List<Job> jobs) {
    if (store.recordsNothing()) {
      executeAndRestop(worker, jobs);
      return;
    }
    List<JobRecord> records = new ArrayList<>(jobs.size());
    for (Job job : jobs) {
      records.add(job.record());
    }
    store.started(records, failure -> {
      if (failure instanceof FencedException fenced) {
        // Only the fenced jobs were taken over; the others' start is recorded, and they go.
        List<Job> taken = new ArrayList<>();
        List<Job> still = new ArrayList<>();
        for (Job job : jobs) {
          (fenced.covers(job.sequence()) ? taken : still).add(job);
        }
        takenOver(worker, taken);
        if (!still.isEmpty()) {
          sendRecorded(worker, still);
        }
        return;
      }
      if (failure != null) {
        // The store logs its outage once and records the start once it can; a line per send would flood the log.
        LOG.debug("sending {} jobs to worker pid {} though the job store could not record their start yet: {}", jobs.size(),
            worker.pid(), failure.getMessage());
      }
      sendRecorded(worker, jobs);
    });
  }

  /**
   * Jobs whose start could not be recorded because another service took them over (this one's
   * lease had expired): they are not sent, and are followed from now on as held elsewhere.
   */
  private void takenOver(Worker worker, List<Job> jobs) {
    lock.lock();
    try {
      jobs.forEach(awaitingStart::remove);
      Deque<Job> held = sent.get(worker);
      if (held != null) {
        held.removeAll(jobs);
        if (held.isEmpty()) {
          sent.remove(worker);
          runningShrank.signalAll();
        }
      }
    } finally {
      lock.unlock();
    }
    for (Job job : jobs) {
      clearTimeout(job);
      job.takenOver();
    }
    workerFree(worker);
  }

  /**
   * Sends those of the jobs still assigned to the worker (the others were stopped, or lost the
   * worker, while their start was recorded); a job asked to stop meanwhile is told again, now that
   * its worker has it.
   */
  private void sendRecorded(Worker worker, List<Job> jobs) {
    List<Job> still = new ArrayList<>(jobs.size());
    lock.lock();
    try {
      jobs.forEach(awaitingStart::remove);
      Deque<Job> held = sent.get(worker);
      if (held != null) {
        for (Job job : jobs) {
          if (held.contains(job)) {
            still.add(job);
          }
        }
      }
    } finally {
      lock.unlock();
    }
    if (!still.isEmpty()) {
      executeAndRestop(worker, still);
    }
  }

  /**
   * Sends jobs to their worker. One asked to stop since it was assigned (its cancel may have
   * reached the worker before the job did, and been ignored there) is told again.
   */
  private static void executeAndRestop(Worker worker, List<Job> jobs) {
    ExecuteJobs.Builder message = ExecuteJobs.newBuilder();
    for (Job job : jobs) {
      message.addJobsBuilder().setJobId(job.id()).setHandler(job.handler()).setInputJson(job.inputJson());
    }
    worker.execute(message.build());
    for (Job job : jobs) {
      if (job.isStopping()) {
        worker.cancel(job.id());
      }
    }
  }

  private void stop(Job job, JobState terminal, String code, String message) {
    stop(job, terminal, code, message, message + " while queued", cancelGrace);
  }

  /**
   * Stops a job: a queued one ends now, with {@code queuedMessage}; a running one is told, to end
   * with {@code message}, and its worker killed if the job is still on it after {@code killAfter}.
   * A job already stopping gets that kill timer too, so a shorter wait asked later (shutdown now)
   * is kept; a job that has ended is left alone.
   */
  private void stop(Job job, JobState terminal, String code, String message, String queuedMessage, Duration killAfter) {
    Worker worker = null;
    boolean remote = false;
    lock.lock();
    try {
      if (queue.remove(job)) {
        job.fail(terminal, code, queuedMessage);
        return;
      }
      for (Map.Entry<Worker, Deque<Job>> entry : sent.entrySet()) {
        if (entry.getValue().contains(job)) {
          worker = entry.getKey();
        }
      }
      if (worker == null && inSharedQueue.contains(job)) {
        remote = true;
      } else if (worker == null && job.isKept()) {
        // Left queued for the next service, and stopped while this one stops: its end is recorded
        // (while the store is open), so the next service does not run it.
        job.fail(terminal, code, queuedMessage);
        return;
      }
    } finally {
      lock.unlock();
    }
    if (remote) {
      stopElsewhere.stop(job, terminal, code, queuedMessage);
      return;
    }
    if (worker == null) {
      return;
    }
    if (job.requestStop(terminal, code, message)) {
      worker.cancel(job.id());
    } else if (!job.isStopping() || job.isTerminal()) {
      return; // it has ended meanwhile
    }
    Worker target = worker;
    scheduler.schedule(() -> killIfStillRunning(target, job, killAfter), killAfter.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Under the lock, once the job is queued or assigned: starts its deadline, if it has one. */
  private void startDeadline(Job job) {
    if (job.deadlineMillis() > 0) {
      deadlines.put(job, scheduler.schedule(() -> stop(job, JobState.TIMED_OUT, DEADLINE_EXCEEDED,
              deadlineMessage(job, "while it ran"),
              deadlineMessage(job, "while it was queued: no worker was free in time; give it a longer --deadline, or the service more workers"),
              cancelGrace),
          job.deadlineRemainingMillis(), TimeUnit.MILLISECONDS));
    }
  }

  private static String deadlineMessage(Job job, String when) {
    return "the job's deadline of " + job.deadlineMillis() + " ms (from its acceptance, queue time and every attempt included) passed "
        + when;
  }

  /**
   * Kills the worker if the job is still on it: running and ignoring the cancel (a job waiting
   * its turn is dropped by the worker at once, so it is never found here after the grace).
   */
  private void killIfStillRunning(Worker worker, Job job, Duration waited) {
    boolean stillThere;
    lock.lock();
    try {
      Deque<Job> jobs = sent.get(worker);
      stillThere = jobs != null && jobs.contains(job);
    } finally {
      lock.unlock();
    }
    if (stillThere) {
      String because = "it did not stop within " + (waited.equals(cancelGrace)
          ? "the cancel grace of " + cancelGrace.toMillis() + " ms"
          : waited.toMillis() + " ms of being cancelled, as the service was stopping at once");
      job.noteKilledToStop(because);
      worker.kill("job " + job.id() + ": " + because);
    }
  }

  private void clearTimeout(Job job) {
    ScheduledFuture<?> timeout = timeouts.remove(job);
    if (timeout != null) {
      timeout.cancel(false);
    }
  }
}
