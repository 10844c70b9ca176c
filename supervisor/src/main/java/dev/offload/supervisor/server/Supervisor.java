package dev.offload.supervisor.server;

import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.JobStore;
import dev.offload.supervisor.job.PendingInputs;
import dev.offload.supervisor.metrics.ServiceMetrics;
import dev.offload.supervisor.pool.WorkerPool;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.store.ClusterMember;
import dev.offload.supervisor.store.Recovery;
import dev.offload.supervisor.store.SharedStore;
import dev.offload.supervisor.store.Store;
import dev.offload.supervisor.store.StoreException;
import dev.offload.supervisor.store.StoreUrl;
import dev.offload.wire.UnixSockets;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The supervisor's parts, wired once: the worker pool, the job store, the dispatcher and the
 * gRPC service over them. It owns their lifecycle: {@link #start} opens the store (taking back the
 * jobs an earlier service left) and brings the pool up, and {@link #shutdown} takes everything
 * down in order and in bounded time, the store last, once every job's end is recorded.
 */
public final class Supervisor {

  private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);
  /** Beyond the grace periods: time for kills to land and processes to be reaped. */
  private static final Duration SHUTDOWN_SLACK = Duration.ofSeconds(2);
  /** The most a shutdown asked to end now waits for cancelled jobs before it kills their workers. */
  private static final Duration NOW_KILL_WAIT = Duration.ofSeconds(1);

  private final SupervisorConfig config;
  private final ScheduledExecutorService scheduler;
  private final JobStore jobs;
  /** What the inputs of the jobs accepted and not yet ended hold, against {@code --pending-memory}. */
  private final PendingInputs pendingInputs;
  private final Store store;
  /** With a shared store: what claims this service's share of the shared queue; else null. */
  private final SharedQueueClaimer claimer;
  /** With a shared store: what acts on the other services' doings; else null. */
  private final ClusterEvents clusterEvents;
  private final Dispatcher dispatcher;
  private final WorkerPool pool;
  private final OffloadService service;
  private final ServiceMetrics metrics;
  /**
   * The one I/O thread of the workers' channels and of the server's: a job crosses from a client's
   * stream to a worker's and back without waking another thread, which on two cores was a quarter
   * of the supervisor's CPU per job. One thread carries tens of thousands of jobs a second.
   * Made once the workers are spawning (see {@link WorkerPool#start}); shut down by {@link
   * OffloadServer#awaitTermination}, the last to use it. Guarded by {@code this}.
   */
  private EventLoopGroup io;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final CompletableFuture<Void> shutdownBegun = new CompletableFuture<>();
  private final long startedAtMillis = System.currentTimeMillis();
  private boolean shuttingDown;
  private boolean stoppingNow;
  /** Whether the shutdown under way leaves the queued jobs to the next service; set with {@link #shuttingDown}. */
  private boolean keepQueued;

  private Supervisor(SupervisorConfig config) {
    this.config = config;
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("offload-timers").daemon(true).factory());
    // A job's timers are cancelled when it ends, mostly long before they would fire: dropped at
    // once, they do not hold the job (its input and output) until then.
    timers.setRemoveOnCancelPolicy(true);
    this.scheduler = timers;
    this.store = config.store().store(config.durability(), config.keepFinished(), member(config));
    this.dispatcher = new Dispatcher(config.maxQueue(), config.pool().cancelGrace(), scheduler, store);
    this.metrics = new ServiceMetrics(dispatcher::queueDepth);
    metrics.trackStore(store);
    this.pendingInputs = new PendingInputs(config.limits().maxPendingBytes());
    this.jobs = new JobStore(config.keepFinished(), config.finishedMemoryBytes(), store, job -> {
      pendingInputs.release(job.takePendingInput()); // first: nothing after it can then keep the room
      dispatcher.jobEnded(job);
      metrics.jobEnded(job);
    });
    metrics.trackFinishedJobData(jobs::finishedDataBytes, config.finishedMemoryBytes());
    metrics.trackPendingInputs(pendingInputs::held, pendingInputs.budget());
    this.pool = new WorkerPool(config.pool(), dispatcher, scheduler, this::io, metrics::workerRestarted);
    dispatcher.attach(pool);
    if (store instanceof SharedStore shared) {
      this.claimer = new SharedQueueClaimer(shared, dispatcher, jobs, metrics::storeClaimed);
      this.clusterEvents = new ClusterEvents(shared, dispatcher, jobs, claimer);
      dispatcher.attachCluster(claimer::wake, clusterEvents);
    } else {
      this.claimer = null;
      this.clusterEvents = null;
    }
    this.service = new OffloadService(this);
  }

  /** How this service takes part in a cluster: as configured, with the pool's workers. */
  private static ClusterMember member(SupervisorConfig config) {
    ClusterMember given = config.member();
    int workers = config.pool().workers();
    return given == null
        ? new ClusterMember(SupervisorConfig.defaultServiceName(), "", workers, null, ClusterMember.DEFAULT_LEASE)
        : new ClusterMember(given.name(), given.address(), workers, given.password(), given.lease());
  }

  /**
   * Opens the job store, queues the jobs an earlier service left in it, starts the pool and
   * returns once every worker is ready.
   *
   * @throws StoreException if the store cannot be opened (in use by another service, written by
   *     a newer offload, unreadable): before any worker is started, and with nothing changed
   */
  public static Supervisor start(SupervisorConfig config) throws WorkerStartException, InterruptedException {
    Supervisor supervisor = new Supervisor(config);
    boolean opened = false;
    try {
      Recovery recovery = supervisor.store.open(supervisor.io().next(), supervisor.metrics::storeCommitted);
      opened = true;
      List<Job> left = supervisor.jobs.restore(recovery);
      // Accepted by an earlier service: counted whatever the budget, so that new jobs wait for them to drain.
      for (Job job : left) {
        long bytes = PendingInputs.bytesOf(job.inputJson());
        supervisor.pendingInputs.holdAnyway(bytes);
        if (!job.holdPendingInput(bytes)) {
          supervisor.pendingInputs.release(bytes);
        }
      }
      supervisor.dispatcher.restore(left);
      supervisor.pool.start();
      if (supervisor.store instanceof SharedStore shared) {
        shared.reportHeld(supervisor.dispatcher::runningCount);
        shared.listen(supervisor.clusterEvents);
        supervisor.claimer.start();
      }
    } catch (WorkerStartException | InterruptedException | RuntimeException e) {
      // Interrupted, start() has not closed the pool: workers may be starting, and its directory is there.
      if (supervisor.claimer != null) {
        supervisor.claimer.close();
      }
      supervisor.pool.close();
      if (opened) {
        supervisor.store.close();
      }
      supervisor.scheduler.shutdownNow();
      supervisor.metrics.close();
      supervisor.closeIo();
      throw e;
    }
    supervisor.metrics.bindJvmMeters();
    return supervisor;
  }

  /** The event loop its server must use, so that jobs stay on one thread. */
  synchronized EventLoopGroup io() {
    if (io == null) {
      io = UnixSockets.newEventLoopGroup(1, "offload-io");
    }
    return io;
  }

  /** Ends the I/O thread; for the server, once it has stopped, and after a failed start. */
  void closeIo() {
    EventLoopGroup made;
    synchronized (this) {
      made = io;
    }
    if (made != null) {
      made.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
  }

  /** The service's figures: for {@code offload stats} and Prometheus. */
  public ServiceMetrics metrics() {
    return metrics;
  }

  /** The gRPC service to serve. */
  public OffloadService service() {
    return service;
  }

  /** The pids of the workers that are up now, in slot order. */
  public java.util.List<Long> workerPids() {
    return pool.status().stream().filter(s -> s.worker() != null).map(s -> s.worker().pid()).toList();
  }

  public SupervisorConfig config() {
    return config;
  }

  JobStore jobs() {
    return jobs;
  }

  /** Where its jobs are recorded. */
  public Store store() {
    return store;
  }

  Dispatcher dispatcher() {
    return dispatcher;
  }

  WorkerPool pool() {
    return pool;
  }

  long uptimeMillis() {
    return System.currentTimeMillis() - startedAtMillis;
  }

  synchronized boolean isShuttingDown() {
    return shuttingDown;
  }

  /**
   * Starts an orderly shutdown that leaves the queued jobs queued for the next service on the
   * store, where the store keeps jobs: {@code shutdown(grace, false)}.
   *
   * @param grace how long running jobs may take; null for the configured default
   * @return completes when everything has stopped
   */
  public CompletableFuture<Void> shutdown(Duration grace) {
    return shutdown(grace, false);
  }

  /**
   * Starts an orderly shutdown on a virtual thread and returns at once; a second call changes
   * nothing (to cut a shutdown under way short, call {@link #shutdownNow}). Intake stops. Queued
   * jobs stay QUEUED in the store for the next service on it, their followers told so ({@link
   * Dispatcher#closeIntakeKeepingQueued}); they end CANCELLED with code SHUTDOWN instead if {@code
   * cancelQueued}, or if the store keeps nothing ({@code memory:}), as nothing could run them
   * later. Running jobs get {@code grace} to finish; what still runs is cancelled (CANCELLED, code
   * SHUTDOWN, its worker killed after the cancel grace); every worker ends. The whole is bounded by
   * grace + cancel grace + a few seconds.
   *
   * @param grace how long running jobs may take; null for the configured default
   * @param cancelQueued cancel the queued jobs rather than leave them to the next service
   * @return completes when everything has stopped
   */
  public CompletableFuture<Void> shutdown(Duration grace, boolean cancelQueued) {
    boolean keep = keepsQueued(cancelQueued);
    synchronized (this) {
      if (shuttingDown) {
        return terminated;
      }
      shuttingDown = true;
      keepQueued = keep;
    }
    shutdownBegun.complete(null);
    Duration runningGrace = grace == null ? config.shutdownGrace() : grace;
    Thread.ofVirtual().name("offload-shutdown").start(() -> runShutdown(runningGrace, keep));
    return terminated;
  }

  /**
   * Whether a shutdown asked to cancel the queued jobs or not would leave them queued: only a
   * store that keeps jobs can hand them to the next service.
   */
  public boolean keepsQueued(boolean cancelQueued) {
    return !cancelQueued && !store.recordsNothing();
  }

  /**
   * Shuts down now, whether or not a shutdown is under way (a second signal to {@code serve}):
   * intake stops, every running job is cancelled at once, whatever grace it was given, and a
   * worker whose job has not stopped within a second (or the cancel grace, if shorter) is killed;
   * then every worker ends as in {@link #shutdown}. Queued jobs are left queued or cancelled as the
   * shutdown under way has it (one that begins here leaves them queued, where the store keeps
   * jobs). Returns at once; a second call changes nothing.
   *
   * @return completes when everything has stopped, within a few seconds
   */
  public CompletableFuture<Void> shutdownNow() {
    synchronized (this) {
      if (stoppingNow) {
        return terminated;
      }
      stoppingNow = true;
    }
    shutdown(Duration.ZERO);
    // Here rather than on the shutdown thread, which may be waiting out a long grace: nothing new
    // may start, and what runs is stopped on a short fuse. Once no job runs, that thread goes on
    // to end the workers. The queue goes as that shutdown said (this may come before its thread
    // has run).
    boolean keep;
    synchronized (this) {
      keep = keepQueued;
    }
    if (keep) {
      dispatcher.closeIntakeKeepingQueued();
    } else {
      dispatcher.closeIntake();
    }
    pendingInputs.stopWaiting();
    Duration killAfter = config.pool().cancelGrace().compareTo(NOW_KILL_WAIT) < 0 ? config.pool().cancelGrace() : NOW_KILL_WAIT;
    LOG.info("stopping now: " + dispatcher.runningCount() + " running jobs cancelled, their workers killed after "
        + killAfter.toMillis() + " ms");
    dispatcher.stopAllRunning(killAfter);
    return terminated;
  }

  /** What the inputs of the jobs accepted and not yet ended hold, against {@code --pending-memory}. */
  public PendingInputs pendingInputs() {
    return pendingInputs;
  }

  /** Completes as soon as a shutdown has been asked for. */
  public CompletableFuture<Void> shutdownBegun() {
    return shutdownBegun;
  }

  /** Completes when the supervisor has shut down. */
  public CompletableFuture<Void> terminated() {
    return terminated;
  }

  private void runShutdown(Duration grace, boolean keepQueued) {
    try {
      String queued;
      if (keepQueued) {
        queued = dispatcher.closeIntakeKeepingQueued().size() + " queued jobs stay queued in " + StoreUrl.redact(store.url())
            + " for the next start";
      } else {
        queued = dispatcher.closeIntake() + " queued jobs cancelled";
      }
      pendingInputs.stopWaiting(); // the batch lines waiting for room are refused now, as the service takes no more
      LOG.info("shutting down: " + queued + ", " + dispatcher.runningCount() + " running get " + grace.toMillis() + " ms");
      if (!dispatcher.awaitNoneRunning(grace)) {
        dispatcher.stopAllRunning();
        dispatcher.awaitNoneRunning(config.pool().cancelGrace().plus(SHUTDOWN_SLACK));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      LOG.error("shutdown went wrong; ending the workers anyway", e);
    } finally {
      closeEverything();
    }
  }

  /** Ends the workers and the timers and says so, whatever fails on the way: shutdown must end. */
  private void closeEverything() {
    try {
      if (claimer != null) {
        claimer.close(); // intake is closed: it claims nothing more, and must not race the store's close
      }
      pool.close();
    } catch (RuntimeException | Error e) {
      LOG.error("closing the worker pool went wrong", e);
    } finally {
      try {
        store.close(); // after the pool: every job's end is queued for it by now
      } catch (RuntimeException | Error e) {
        LOG.error("closing the job store went wrong", e);
      }
      scheduler.shutdownNow();
      metrics.close();
      terminated.complete(null);
    }
  }
}
