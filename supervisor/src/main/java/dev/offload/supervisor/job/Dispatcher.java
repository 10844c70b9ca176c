package dev.offload.supervisor.job;

import dev.offload.proto.v1.ExecuteJob;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.pool.Worker;
import dev.offload.supervisor.pool.WorkerPool;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Pairs queued jobs with idle workers, and sees each job through to its one terminal state.
 *
 * <p>There is no dispatch thread. A job is sent on the thread that made the pairing possible: the
 * submitting thread when a worker is idle, or the worker's I/O thread when its previous result
 * arrives and a job is waiting. Idle workers are reused most recently idle first (their JIT is
 * hottest); waiting jobs go first in, first out.
 *
 * <p>Stopping a running job (cancel, deadline, shutdown) escalates: the worker is told, and if the
 * job is still on that same worker after the cancel grace, that worker process is killed and the
 * pool replaces it. The kill is tied to the job and the worker object (one process), so a late
 * timer can never hit the next job.
 *
 * <p>The lock guards the queue, the idle workers and the running map only; sending to a worker,
 * waiting and spawning all happen outside it.
 */
public final class Dispatcher implements WorkerPool.Listener {

  private static final System.Logger LOG = System.getLogger(Dispatcher.class.getName());

  private final JobQueue queue;
  private final ScheduledExecutorService scheduler;
  private final Duration cancelGrace;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition runningShrank = lock.newCondition();
  private final Deque<Worker> idle = new ArrayDeque<>();
  private final Map<Worker, Job> running = new HashMap<>();
  private final Map<Job, ScheduledFuture<?>> deadlines = new ConcurrentHashMap<>();
  private boolean intakeOpen = true;
  private WorkerPool pool;

  public Dispatcher(int maxQueue, Duration cancelGrace, ScheduledExecutorService scheduler) {
    this.queue = new JobQueue(maxQueue);
    this.cancelGrace = cancelGrace;
    this.scheduler = scheduler;
  }

  /** Connects the pool whose workers this dispatcher feeds and whose lost workers it replaces. */
  public void attach(WorkerPool pool) {
    this.pool = pool;
  }

  /**
   * Accepts a QUEUED job: sends it to an idle worker now, or queues it.
   *
   * @throws JobRejectedException if the queue is full or intake has stopped
   */
  public void submit(Job job) throws JobRejectedException {
    Worker worker;
    lock.lock();
    try {
      if (!intakeOpen) {
        throw new JobRejectedException(JobRejectedException.Reason.SHUTTING_DOWN,
            "the service is shutting down and takes no new jobs");
      }
      worker = idle.pollFirst();
      if (worker == null) {
        if (!queue.offer(job)) {
          throw new JobRejectedException(JobRejectedException.Reason.QUEUE_FULL,
              "the queue is full (" + queue.capacity() + " jobs wait already); retry later or start the service with a larger --max-queue");
        }
        return;
      }
      assign(worker, job);
    } finally {
      lock.unlock();
    }
    send(worker, job);
  }

  /**
   * Cancels a job: a queued one ends CANCELLED now; a running one is stopped by the escalation
   * described above and ends CANCELLED when it has. A job that has ended is left as it is.
   */
  public void cancel(Job job) {
    stop(job, JobState.CANCELLED, "CANCELLED", "cancelled by request");
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
      return Optional.ofNullable(running.get(worker));
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
    return dropped.size();
  }

  public int runningCount() {
    lock.lock();
    try {
      return running.size();
    } finally {
      lock.unlock();
    }
  }

  /** Waits until no job is running, at most {@code limit}; true if none is. */
  public boolean awaitNoneRunning(Duration limit) throws InterruptedException {
    long remaining = limit.toNanos();
    lock.lock();
    try {
      while (!running.isEmpty() && remaining > 0) {
        remaining = runningShrank.awaitNanos(remaining);
      }
      return running.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /** Stops every running job (for shutdown); each ends CANCELLED with code SHUTDOWN. */
  public void stopAllRunning() {
    List<Job> jobs;
    lock.lock();
    try {
      jobs = List.copyOf(running.values());
    } finally {
      lock.unlock();
    }
    jobs.forEach(j -> stop(j, JobState.CANCELLED, "SHUTDOWN", "the service shut down while the job ran"));
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
    Job job = jobOn(worker).orElse(null);
    if (job != null && job.id().equals(jobId)) {
      job.progress(progress);
    }
  }

  @Override
  public void onResult(Worker worker, JobResult result) {
    Job job;
    lock.lock();
    try {
      job = running.get(worker);
      if (job == null || !job.id().equals(result.getJobId())) {
        LOG.log(System.Logger.Level.WARNING, worker + " sent a result for job " + result.getJobId() + ", which it was not running; ignored");
        return;
      }
      running.remove(worker);
      runningShrank.signalAll();
    } finally {
      lock.unlock();
    }
    clearDeadline(job);
    worker.countJobDone();
    pool.retirementReason(worker).ifPresent(why -> pool.retire(worker, why));
    switch (result.getOutcomeCase()) {
      case OUTPUT_JSON -> job.succeed(result.getOutputJson());
      case ERROR -> job.fail(JobState.FAILED, result.getError().getCode(), result.getError().getMessage());
      case CANCELLED -> {
        if (job.isStopping()) {
          job.endStopped("");
        } else {
          job.fail(JobState.CANCELLED, "CANCELLED", "the handler stopped as cancelled");
        }
      }
      case OUTCOME_NOT_SET -> job.fail(JobState.FAILED, "WORKER_ERROR", "the worker sent a result with no outcome");
    }
    workerFree(worker);
  }

  @Override
  public void onLost(Worker worker, String cause, boolean deliberate) {
    Job job;
    lock.lock();
    try {
      idle.remove(worker);
      job = running.remove(worker);
      runningShrank.signalAll();
    } finally {
      lock.unlock();
    }
    if (job != null) {
      clearDeadline(job);
      jobLostItsWorker(job, worker, deliberate ? cause : cause + worker.log().quote(5));
    }
    pool.replace(worker, cause);
  }

  private void jobLostItsWorker(Job job, Worker worker, String cause) {
    if (job.isStopping()) {
      job.endStopped("it did not stop within the cancel grace of " + cancelGrace.toMillis() + " ms, so its worker (pid " + worker.pid() + ") was killed and replaced");
      return;
    }
    if (job.hasRetriesLeft() && requeue(job)) {
      LOG.log(System.Logger.Level.INFO, job + " lost worker pid " + worker.pid() + "; retrying");
      dispatchWaiting();
      return;
    }
    String message = "worker pid " + worker.pid() + " " + cause;
    if (job.retries() > 0) {
      job.fail(JobState.FAILED, "POISON",
          "the job lost its worker on every one of its " + job.attempts() + " attempts, so it is not retried again; last: " + message);
    } else {
      job.fail(JobState.FAILED, "WORKER_LOST", message);
    }
  }

  /** Puts a job that lost its worker back at the front of the queue, unless intake has stopped. */
  private boolean requeue(Job job) {
    lock.lock();
    try {
      if (!intakeOpen || !job.requeue()) {
        return false;
      }
      queue.returnToFront(job);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Gives a waiting job to an idle worker, if both exist (after a requeue). */
  private void dispatchWaiting() {
    Worker worker;
    lock.lock();
    try {
      worker = idle.pollFirst();
    } finally {
      lock.unlock();
    }
    if (worker != null) {
      workerFree(worker);
    }
  }

  /**
   * A worker has nothing to do: give it the next job, or put it on the idle stack. A dead worker
   * gets neither. A retired
   * worker gets neither; it is closed (the flag is read under the lock, which is what makes this
   * and {@link #onRetired} agree on who closes it).
   */
  private void workerFree(Worker worker) {
    Job next = null;
    lock.lock();
    try {
      if (!worker.isAlive()) {
        // Its death was (or is about to be) announced: onLost owns it now, and a job given to it
        // here could wait forever for a result that will never come.
        return;
      }
      if (!worker.isRetired()) {
        next = queue.poll();
        if (next == null) {
          idle.push(worker);
          return;
        }
        assign(worker, next);
      }
    } finally {
      lock.unlock();
    }
    if (next == null) {
      pool.closeRetired(worker);
      return;
    }
    send(worker, next);
  }

  /** Under the lock: records the pairing, marks the job RUNNING and starts its deadline. */
  private void assign(Worker worker, Job job) {
    running.put(worker, job);
    job.start(worker.pid());
    if (job.timeoutMillis() > 0) {
      deadlines.put(job, scheduler.schedule(
          () -> stop(job, JobState.TIMED_OUT, "TIMED_OUT", "the job ran longer than its timeout of " + job.timeoutMillis() + " ms"),
          job.timeoutMillis(), TimeUnit.MILLISECONDS));
    }
  }

  private void send(Worker worker, Job job) {
    worker.execute(ExecuteJob.newBuilder()
        .setJobId(job.id())
        .setHandler(job.handler())
        .setInputJson(job.inputJson())
        .build());
  }

  private void stop(Job job, JobState terminal, String code, String message) {
    Worker worker = null;
    lock.lock();
    try {
      if (queue.remove(job)) {
        job.fail(terminal, code, message + " while queued");
        return;
      }
      for (Map.Entry<Worker, Job> entry : running.entrySet()) {
        if (entry.getValue() == job) {
          worker = entry.getKey();
        }
      }
    } finally {
      lock.unlock();
    }
    if (worker == null || !job.requestStop(terminal, code, message)) {
      return;
    }
    Worker target = worker;
    target.cancel(job.id());
    scheduler.schedule(() -> killIfStillRunning(target, job), cancelGrace.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void killIfStillRunning(Worker worker, Job job) {
    if (jobOn(worker).orElse(null) == job) {
      worker.kill("job " + job.id() + " did not stop within the cancel grace of " + cancelGrace.toMillis() + " ms");
    }
  }

  private void clearDeadline(Job job) {
    ScheduledFuture<?> deadline = deadlines.remove(job);
    if (deadline != null) {
      deadline.cancel(false);
    }
  }
}
