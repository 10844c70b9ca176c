package dev.offload.supervisor.pool;

import dev.offload.proto.v1.HandlerInfo;
import dev.offload.wire.PoolDirectory;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker JVMs of one supervisor: started once, in parallel, and kept whole. Each of the N
 * slots holds one worker; when a worker is lost, {@link #replace} starts another in its slot (with
 * backoff if starting keeps failing), and the listener hears {@link Listener#onReady} for it.
 *
 * <p>Which worker runs which job is not the pool's business but the dispatcher's: the pool only
 * starts, watches and ends processes. Spawning and waiting happen on virtual threads, never while
 * holding the pool's lock.
 */
public final class WorkerPool implements AutoCloseable {

  /** Hears about workers; see {@link Worker.Listener} for the threading rules. */
  public interface Listener extends Worker.Listener {
    /** A worker (a first one or a replacement) is ready for jobs. */
    void onReady(Worker worker);

    /**
     * A retiring worker's replacement is ready: {@code retired} must get no more jobs. The listener
     * hands it to {@link #closeRetired} once it is idle (now, or when its job ends).
     */
    void onRetired(Worker retired);
  }

  /** What stats show of one slot. {@code worker} is null while its process is being started. */
  public record SlotStatus(int slot, Worker worker, int restarts, String lastRestartReason, boolean stopping) {}

  private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
  /** How long a closing worker may take when it writes a class-data-sharing archive as it exits. */
  private static final Duration CLOSE_WAIT_WHILE_DUMPING = Duration.ofSeconds(60);

  private final PoolConfig config;
  private final Listener listener;
  private final ScheduledExecutorService scheduler;
  private final Path runDir;
  private final WorkerLauncher launcher;
  private final Supplier<EventLoopGroup> io;
  private final Consumer<RestartCause> onRestart;
  /**
   * Ends the workers and removes the pool's directory when the JVM exits without {@link #close}:
   * one hook per pool, registered once the directory exists and removed by close.
   */
  private final Thread cleanUpOnExit = new Thread(this::cleanUpOnExit, "offload-pool-exit");
  private final List<Slot> slots = new ArrayList<>();
  /**
   * Processes spawned and not yet workers of a slot, nor exited: close() ends them too, and waits
   * for the exit of each. Guarded by this.
   */
  private final Set<Process> starting = new HashSet<>();
  /**
   * Held shared by each spawn, from its check that the pool is open until its process is in
   * {@link #starting}; close() takes it alone once, so that it finds every process a spawn under
   * way makes, and no spawn begins after it.
   */
  private final ReadWriteLock spawning = new ReentrantReadWriteLock();
  private volatile List<HandlerInfo> handlers = List.of();
  /** Told the number of ready workers after each change; the lock keeps their calls in order. */
  private final List<IntConsumer> readyWatchers = new CopyOnWriteArrayList<>();
  private ScheduledFuture<?> healthChecks;
  /** Read only by the health checks, which run one at a time on the scheduler. */
  private SilenceClock silence;
  private boolean closed;

  /**
   * @param io gives the event loops of the workers' channels, made on first use; the caller owns
   *     them and shuts them down after this pool has closed
   * @param onRestart told the cause each time a slot's worker is replaced
   */
  public WorkerPool(PoolConfig config, Listener listener, ScheduledExecutorService scheduler, Supplier<EventLoopGroup> io,
      Consumer<RestartCause> onRestart) {
    this.config = config;
    this.listener = listener;
    this.scheduler = scheduler;
    this.runDir = createRunDir();
    this.launcher = new WorkerLauncher(config, runDir);
    this.io = io;
    this.onRestart = onRestart;
    for (int i = 1; i <= config.workers(); i++) {
      slots.add(new Slot(i));
    }
    Runtime.getRuntime().addShutdownHook(cleanUpOnExit);
  }

  /**
   * Starts every worker in parallel and returns when all are ready, each already announced to
   * the listener. If any fails to start, the others are ended and the first failure is thrown.
   */
  public void start() throws WorkerStartException, InterruptedException {
    List<Thread> starters = new ArrayList<>();
    List<WorkerStartException> failures = new ArrayList<>();
    for (Slot slot : slots) {
      starters.add(Thread.ofVirtual().name("offload-start-" + slot.number).start(() -> {
        try {
          startIn(slot);
        } catch (WorkerStartException e) {
          synchronized (failures) {
            failures.add(e);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
    }
    // Netty's first use in a JVM costs a few hundred milliseconds; spent here, it overlaps the
    // workers' own start instead of delaying their spawn or their connection.
    io.get();
    for (Thread starter : starters) {
      starter.join();
    }
    if (!failures.isEmpty()) {
      close();
      WorkerStartException first = failures.getFirst();
      failures.stream().skip(1).forEach(first::addSuppressed);
      throw first;
    }
    long interval = config.healthInterval().toMillis();
    silence = new SilenceClock(config.healthInterval(), config.healthTimeout(), System::nanoTime);
    healthChecks = scheduler.scheduleWithFixedDelay(this::checkHealth, interval, interval, TimeUnit.MILLISECONDS);
  }

  /** The handlers the workers offer, as the first worker described them. */
  public List<HandlerInfo> handlers() {
    return handlers;
  }

  public int size() {
    return config.workers();
  }

  public PoolConfig config() {
    return config;
  }

  /** How many slots hold a worker that is ready for jobs (none while every one is starting). */
  public synchronized int readyCount() {
    return (int) slots.stream().filter(s -> s.worker != null && s.worker.isAlive()).count();
  }

  /**
   * Tells {@code watcher} the number of ready workers now, and again after every change (it may
   * hear the same number twice). Called on the thread that made the change, one call at a time,
   * each with the number as it is then: it must not block.
   */
  public void watchReady(IntConsumer watcher) {
    readyWatchers.add(watcher);
    readyChanged();
  }

  private void readyChanged() {
    // Counted and told under one lock, so that the last call tells the number as it is now, even
    // when two changes race. Never called under the pool's lock (readyCount takes it).
    synchronized (readyWatchers) {
      int ready = readyCount();
      readyWatchers.forEach(w -> w.accept(ready));
    }
  }

  /** A snapshot of every slot, in slot order. */
  public synchronized List<SlotStatus> status() {
    return slots.stream()
        .map(s -> new SlotStatus(s.number, s.worker, s.restarts, s.lastRestartReason, closed))
        .toList();
  }

  /**
   * Starts a replacement for a lost worker in its slot, on a virtual thread; returns at once.
   * Does nothing once the pool is closing.
   */
  public void replace(Worker lost, WorkerLoss loss) {
    Slot slot;
    synchronized (this) {
      slot = slots.get(lost.slot() - 1);
      if (closed || slot.worker != lost) {
        return;
      }
      slot.worker = null;
      slot.restarts++;
      slot.lastRestartReason = "pid " + lost.pid() + " " + loss.words();
    }
    onRestart.accept(loss.cause());
    readyChanged();
    Thread.ofVirtual().name("offload-replace-" + slot.number).start(() -> replaceIn(slot));
  }

  private void replaceIn(Slot slot) {
    while (true) {
      Duration backoff;
      synchronized (this) {
        if (closed) {
          return;
        }
        backoff = slot.consecutiveFailures == 0
            ? Duration.ZERO
            : min(MAX_BACKOFF, Duration.ofMillis(250L << Math.min(slot.consecutiveFailures - 1, 10)));
      }
      try {
        Thread.sleep(backoff);
        startIn(slot);
        return;
      } catch (WorkerStartException e) {
        if (isClosed()) {
          return; // ended by close(), not a failure to report
        }
        LOG.warn("could not start a worker in slot " + slot.number + " (will retry): " + e.getMessage());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void startIn(Slot slot) throws WorkerStartException, InterruptedException {
    int incarnation;
    synchronized (this) {
      incarnation = slot.incarnations++;
    }
    // What launch spawns is in `starting` until it is this slot's worker or has exited.
    Worker worker;
    try {
      WorkerProcess process = launcher.launch(slot.number, incarnation, this::spawn);
      try {
        worker = Worker.connect(process, io.get(), listener, config.startTimeout(), config.maxOutputBytes());
      } catch (WorkerStartException | RuntimeException e) {
        process.process().destroyForcibly(); // ready but unreachable: of no use, and not to be left behind
        throw e;
      }
    } catch (WorkerStartException e) {
      synchronized (this) {
        if (!closed) { // not a failure of the slot's, and not to be reported as one
          slot.consecutiveFailures++;
          slot.lastRestartReason = e.getMessage().lines().findFirst().orElse("start failed");
        }
      }
      throw e;
    }
    synchronized (this) {
      if (closed) {
        worker.kill("the pool closed while it started"); // and close() waits for its exit, in `starting`
        return;
      }
      starting.remove(worker.process());
      slot.worker = worker;
      slot.consecutiveFailures = 0;
      if (handlers.isEmpty()) {
        handlers = worker.handlers();
      }
    }
    readyChanged();
    listener.onReady(worker);
  }

  /**
   * Starts a worker's process and keeps it where close() finds it, or refuses once the pool is
   * closed: a replacement that began before close() must not spawn a process after it returned.
   */
  private Process spawn(ProcessBuilder builder) throws IOException, WorkerStartException {
    spawning.readLock().lock();
    try {
      if (isClosed()) {
        throw new WorkerStartException("the pool closed before the worker started");
      }
      Process process = builder.start();
      synchronized (this) {
        starting.add(process);
      }
      // Out of `starting` once it has exited, not when its start fails (it is being killed then):
      // close() waits for the exit of what is in it. One that became a slot's worker left already.
      process.onExit().thenRun(() -> leftStarting(process));
      return process;
    } finally {
      spawning.readLock().unlock();
    }
  }

  private synchronized void leftStarting(Process process) {
    starting.remove(process);
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  /**
   * Why a worker should be retired now that it has finished a job (it has run its share of jobs,
   * or its memory has grown past the limit), or empty if it should not.
   */
  public Optional<String> retirementReason(Worker worker) {
    if (config.maxJobsPerWorker() > 0 && worker.jobsDone() >= config.maxJobsPerWorker()) {
      return Optional.of("it ran " + worker.jobsDone() + " jobs (--max-jobs-per-worker " + config.maxJobsPerWorker() + ")");
    }
    if (config.maxWorkerRssBytes() > 0 && worker.rssBytes() > config.maxWorkerRssBytes()) {
      return Optional.of("its resident memory, " + worker.rssBytes() / (1024 * 1024) + " MiB, exceeded --max-worker-rss "
          + config.maxWorkerRssBytes() / (1024 * 1024) + " MiB");
    }
    return Optional.empty();
  }

  /**
   * Replaces a worker that is healthy but due for retirement, without losing capacity: the old
   * worker goes on serving while its replacement starts, and the listener hears {@link
   * Listener#onRetired} once the new one is ready. Only the first request per worker counts.
   */
  public void retire(Worker worker, String reason) {
    if (!worker.requestRetirement()) {
      return;
    }
    Slot slot;
    synchronized (this) {
      slot = slots.get(worker.slot() - 1);
      if (closed || slot.worker != worker) {
        return;
      }
      slot.restarts++;
      slot.lastRestartReason = "pid " + worker.pid() + " retired: " + reason;
    }
    onRestart.accept(RestartCause.RETIRED);
    Thread.ofVirtual().name("offload-retire-" + slot.number).start(() -> {
      try {
        startIn(slot);
      } catch (WorkerStartException e) {
        if (!isClosed()) {
          LOG.warn("could not start the replacement of retiring " + worker + "; it serves on: " + e.getMessage());
        }
        return;
      } catch (InterruptedException e) {
        return;
      }
      worker.markRetired();
      listener.onRetired(worker);
    });
  }

  /** Ends a retired worker that is idle; see {@link Listener#onRetired}. */
  public void closeRetired(Worker worker) {
    worker.close("retired after its replacement was ready");
  }

  /**
   * Pings every worker and kills one that has answered none for longer than the health timeout,
   * not counting a time when the supervisor itself was not running (see {@link SilenceClock}).
   */
  private void checkHealth() {
    Duration paused = silence.tick();
    if (!paused.isZero()) {
      LOG.warn(String.format("the supervisor itself was not running for about %.1f s (stopped, suspended or paused); its"
          + " workers' silence meanwhile is not held against them: each gets a fresh health deadline", paused.toMillis() / 1000.0));
    }
    for (SlotStatus status : status()) {
      Worker worker = status.worker();
      if (worker == null || !worker.isAlive()) {
        continue;
      }
      worker.sampleMemory();
      Duration silent = silence.silenceSince(worker.lastAnswerNanos());
      if (silent.compareTo(config.healthTimeout()) > 0) {
        worker.kill("it answered no health check for " + silent.toSeconds() + " s: stopped or wedged");
      } else {
        worker.ping();
      }
    }
  }

  /**
   * Ends every worker and frees what the pool holds. Workers are asked to exit, then signalled,
   * then killed; the whole takes a few seconds at most, whatever the workers do. Each lost worker
   * is still announced through {@link Listener#onLost}. Idempotent.
   */
  @Override
  public void close() {
    List<Worker> workers;
    List<Process> unready;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      workers = slots.stream().map(s -> s.worker).filter(w -> w != null).toList();
    }
    spawning.writeLock().lock(); // a spawn under way puts its process in `starting` first
    spawning.writeLock().unlock();
    synchronized (this) {
      unready = List.copyOf(starting);
    }
    if (healthChecks != null) {
      healthChecks.cancel(false);
    }
    try {
      // A worker still starting (a replacement, say) holds no job: nothing is lost by killing it.
      unready.forEach(Process::destroyForcibly);
      workers.forEach(w -> w.close("the pool is closing"));
      awaitExit(workers, ClassDataSharing.workersDumpAtExit() ? CLOSE_WAIT_WHILE_DUMPING : CLOSE_WAIT);
      workers.stream().filter(w -> !w.gone().isDone()).forEach(w -> w.kill("it did not exit when the pool closed"));
      awaitExit(workers, CLOSE_WAIT);
    } finally {
      // Whatever happened above, nothing of the pool may outlive it.
      workers.forEach(w -> w.process().destroyForcibly());
      awaitAll(unready.stream().map(Process::onExit).toList(), CLOSE_WAIT);
      workers.forEach(Worker::releaseChannel);
      deleteRunDir();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanUpOnExit);
      } catch (IllegalStateException alreadyExiting) {
        // The hook runs anyway, alongside this close: both only kill and delete, which is harmless twice.
      }
    }
  }

  private static void awaitExit(List<Worker> workers, Duration limit) {
    awaitAll(workers.stream().map(Worker::gone).toList(), limit);
  }

  private static void awaitAll(List<? extends Future<?>> exits, Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    for (Future<?> exit : exits) {
      try {
        exit.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (Exception notYet) {
        // Escalated by the caller.
      }
    }
  }

  /**
   * The shutdown hook: the JVM is exiting without {@link #close} having finished (a program that
   * returned from main without closing its pool, or exits on a signal). Kills every worker, waits
   * a bounded time for them to be gone, and removes the pool's directory with their sockets and
   * (unless a log directory was configured) their logs. Killed rather than asked: the JVM's exit
   * should not wait on a job. It never waits while holding the pool's lock, so a close() running
   * at the same time (from the program's own hook, say) cannot deadlock with it; both only kill
   * and delete.
   */
  private void cleanUpOnExit() {
    List<Process> processes;
    synchronized (this) {
      processes = Stream.concat(slots.stream().filter(s -> s.worker != null).map(s -> s.worker.process()), starting.stream())
          .toList();
    }
    processes.forEach(Process::destroyForcibly);
    awaitAll(processes.stream().map(Process::onExit).toList(), CLOSE_WAIT);
    deleteRunDir();
  }

  /**
   * A private directory for the workers' sockets, in the temporary directory, where the directories
   * that pools of supervisors killed before they could close left behind are removed first.
   */
  private static Path createRunDir() {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    PoolDirectory.Created created;
    try {
      created = PoolDirectory.create(tmp);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a private directory for worker sockets in " + tmp, e);
    }
    if (!created.removed().isEmpty()) {
      LOG.info("removed " + created.removed().size() + " pool directories left by supervisors that are gone: " + created.removed());
    }
    created.notRemoved().forEach(why -> LOG.warn("could not remove a stale pool directory " + why));
    return created.dir();
  }

  private void deleteRunDir() {
    try (Stream<Path> paths = Files.walk(runDir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // The last worker to exit removes the directory once it is empty (see WorkerMain), so it
      // may vanish while it is walked; only one that is still there is a failure.
      if (Files.exists(runDir)) {
        LOG.warn("could not remove " + runDir + ": " + e.getMessage());
      }
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** One place in the pool; guarded by the pool's lock. */
  private static final class Slot {
    final int number;
    Worker worker;
    int incarnations;
    int restarts;
    int consecutiveFailures;
    String lastRestartReason = "";

    Slot(int number) {
      this.number = number;
    }
  }
}
