package dev.offload.supervisor.metrics;

import dev.offload.proto.v1.HandlerTimes;
import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.pool.RestartCause;
import dev.offload.supervisor.store.SharedStore;
import dev.offload.supervisor.store.Store;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The service's figures, kept once in a Micrometer registry: what {@code serve --metrics} exposes
 * to Prometheus and what {@code offload stats} shows come from the same meters.
 *
 * <ul>
 *   <li>{@code offload_jobs_total{handler, state}}: jobs that ended, by terminal state;
 *   <li>{@code offload_job_wait_seconds{handler}}, {@code offload_job_run_seconds{handler}}:
 *       histograms of the time queued and the time on a worker;
 *   <li>{@code offload_queue_depth}: jobs waiting for a worker;
 *   <li>{@code offload_worker_restarts_total{cause}}: workers replaced, by cause;
 *   <li>{@code offload_finished_job_data_bytes} and {@code offload_finished_job_data_limit_bytes}:
 *       what finished jobs hold of input, output and error text, and its bound;
 *   <li>{@code offload_log_write_failures_total}: log lines the service could not write to its
 *       log file (a full disk, say);
 *   <li>{@code offload_store_commits_seconds}: the job store's commits (each a group of writes),
 *       counted, with their latency as a histogram; {@code offload_store_size_bytes} and {@code
 *       offload_store_jobs}: its size on disk and the jobs it holds; {@code offload_store_failing} (1 while
 *       it cannot write) and {@code offload_store_held_writes} (changes held in memory meanwhile);
 *   <li>{@code offload_store_claims_seconds}: with a shared store (PostgreSQL), this service's
 *       claims of jobs from the cluster's shared queue, counted, with their latency as a histogram;
 *   <li>the supervisor JVM's memory, GC, threads, classes, CPU and uptime.
 * </ul>
 */
public final class ServiceMetrics implements AutoCloseable {

  private static final double[] PERCENTILES = {0.5, 0.9, 0.99};
  private static final Duration LONGEST_EXPECTED = Duration.ofHours(1);

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  private final Map<String, HandlerMeters> byHandler = new ConcurrentHashMap<>();
  private final RecentRate recentEnds = new RecentRate(System::currentTimeMillis);
  /** What the log-write failure counter reads, held here because the counter holds it weakly. */
  private volatile LongSupplier logWriteFailures;
  /** The job store's commits; made by {@link #trackStore}. */
  private volatile Timer storeCommits;
  /** A shared store's claims; made by {@link #trackStore} for one. */
  private volatile Timer storeClaims;
  /** Binds the JVM meters; started by {@link #bindJvmMeters}. Guarded by {@code this}. */
  private Thread jvmMetersBound;

  /** @param queueDepth reads the number of jobs waiting for a worker */
  public ServiceMetrics(IntSupplier queueDepth) {
    Gauge.builder("offload.queue.depth", queueDepth::getAsInt).description("Jobs waiting for a worker").register(registry);
  }

  /**
   * Adds the supervisor JVM's own meters, in the background; {@link #scrape} and {@link #close}
   * wait for them. They take a few hundred milliseconds of CPU in a cold JVM (management beans),
   * which the service spends once its workers are up rather than while they start.
   */
  public synchronized void bindJvmMeters() {
    if (jvmMetersBound == null) {
      jvmMetersBound = Thread.ofVirtual().name("offload-jvm-meters").start(() -> {
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
      });
    }
  }

  /** Records a job that has ended: its terminal state, how long it waited and how long it ran. */
  public void jobEnded(Job job) {
    HandlerMeters meters = byHandler.computeIfAbsent(job.handler(), this::metersFor);
    meters.ended().get(job.state()).increment();
    meters.waitTime.record(job.waitNanos(), TimeUnit.NANOSECONDS);
    if (job.ranOnAWorker()) {
      meters.runTime.record(job.runNanos(), TimeUnit.NANOSECONDS);
    }
    recentEnds.record();
  }

  /**
   * Tracks the bytes of data that finished jobs hold, and their bound ({@code serve
   * --finished-memory}).
   */
  public void trackFinishedJobData(LongSupplier bytes, long limit) {
    Gauge.builder("offload.finished.job.data", bytes::getAsLong).baseUnit("bytes")
        .description("Bytes of input, output and error text that finished jobs hold (UTF-8; whole G1 regions for a text of half one or more)").register(registry);
    Gauge.builder("offload.finished.job.data.limit", () -> limit).baseUnit("bytes")
        .description("The most finished jobs may hold (--finished-memory); past it the oldest ones' data are dropped")
        .register(registry);
  }

  /**
   * Tracks the bytes of input that jobs not yet ended hold, and their bound ({@code serve
   * --pending-memory}).
   */
  public void trackPendingInputs(LongSupplier bytes, long limit) {
    Gauge.builder("offload.pending.job.input", bytes::getAsLong).baseUnit("bytes")
        .description("Bytes of input that jobs accepted and not yet ended (queued or running) hold (UTF-8; whole G1 regions for a text of half one or more)").register(registry);
    Gauge.builder("offload.pending.job.input.limit", () -> limit).baseUnit("bytes")
        .description("The most they may hold (--pending-memory); past it submissions are refused and batch streams wait")
        .register(registry);
  }

  /** Tracks the job store: its commits (see {@link #storeCommitted}), its size and the jobs it holds. */
  public void trackStore(Store store) {
    storeCommits = Timer.builder("offload.store.commits")
        .description("Commits of the job store, each a group of writes, and how long each took")
        .tag("kind", store.kind())
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(1_000))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
    if (store instanceof SharedStore) {
      storeClaims = Timer.builder("offload.store.claims")
          .description("Claims of jobs from the cluster's shared queue, each one statement, and how long each took")
          .tag("kind", store.kind())
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofNanos(10_000))
          .maximumExpectedValue(Duration.ofSeconds(10))
          .register(registry);
    }
    Gauge.builder("offload.store.size", store, Store::sizeBytes).baseUnit("bytes")
        .description("Bytes the job store takes on disk (with its write-ahead log)").tag("kind", store.kind()).register(registry);
    Gauge.builder("offload.store.jobs", store, Store::jobsKept)
        .description("Jobs the job store holds, finished ones included").tag("kind", store.kind()).register(registry);
    Gauge.builder("offload.store.failing", store, s -> s.failure() == null ? 0 : 1)
        .description("1 while the job store cannot write (a full disk, a read-only file): new jobs are refused meanwhile")
        .tag("kind", store.kind()).register(registry);
    Gauge.builder("offload.store.held.writes", store, Store::heldWrites)
        .description("Job starts and ends held in memory because the job store could not write them yet")
        .tag("kind", store.kind()).register(registry);
  }

  /** Records one commit of the job store and how long it took; called on the store's writer. */
  public void storeCommitted(long nanos) {
    Timer commits = storeCommits;
    if (commits != null) {
      commits.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** Records one claim from a shared store's queue and how long it took; called on the claimer. */
  public void storeClaimed(long nanos) {
    Timer claims = storeClaims;
    if (claims != null) {
      claims.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** Counts the log lines that could not be written to the service's log file, as {@code failures} reads them. */
  public void countLogWriteFailures(LongSupplier failures) {
    logWriteFailures = failures; // the counter holds what it reads only weakly
    FunctionCounter.builder("offload.log.write.failures", failures, LongSupplier::getAsLong)
        .description("Log lines the service could not write to its log file (a full disk, say)").register(registry);
  }

  /** Records that a worker was replaced. */
  public void workerRestarted(RestartCause cause) {
    Counter.builder("offload.worker.restarts").description("Workers replaced, by cause")
        .tag("cause", cause.label()).register(registry).increment();
  }

  /** Jobs that ended in the last minute, per second. */
  public double jobsPerSecondLastMinute() {
    return recentEnds.perSecond();
  }

  /** Wait and run time percentiles of every handler that has run jobs, by name. */
  public List<HandlerTimes> handlerTimes() {
    List<HandlerTimes> times = new ArrayList<>();
    byHandler.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(entry -> {
      double[] wait = percentilesMillis(entry.getValue().waitTime().takeSnapshot());
      double[] run = percentilesMillis(entry.getValue().runTime().takeSnapshot());
      times.add(HandlerTimes.newBuilder()
          .setHandler(entry.getKey())
          .setJobs(entry.getValue().waitTime().count())
          .setWaitP50Ms(wait[0]).setWaitP90Ms(wait[1]).setWaitP99Ms(wait[2])
          .setRunP50Ms(run[0]).setRunP90Ms(run[1]).setRunP99Ms(run[2])
          .build());
    });
    return times;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    awaitJvmMeters();
    return registry.scrape();
  }

  @Override
  public void close() {
    awaitJvmMeters();
    gcMetrics.close();
    registry.close();
  }

  private void awaitJvmMeters() {
    Thread binding;
    synchronized (this) {
      binding = jvmMetersBound;
    }
    if (binding == null) {
      return;
    }
    try {
      binding.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A handler's meters, made at its first job's end and kept: registry lookups cost per job. */
  private HandlerMeters metersFor(String handler) {
    Map<JobState, Counter> ended = new EnumMap<>(JobState.class);
    for (JobState state : List.of(JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT)) {
      ended.put(state, Counter.builder("offload.jobs").description("Jobs that ended, by handler and terminal state")
          .tag("handler", handler).tag("state", state.name()).register(registry));
    }
    return new HandlerMeters(ended,
        timer("offload.job.wait", "Time from submission to being sent to a worker", handler),
        timer("offload.job.run", "Time from being sent to a worker to the end", handler));
  }

  private Timer timer(String name, String description, String handler) {
    return Timer.builder(name).description(description).tag("handler", handler)
        .publishPercentiles(PERCENTILES)
        .publishPercentileHistogram()
        .maximumExpectedValue(LONGEST_EXPECTED) // jobs run long: buckets up to an hour, not the default 30 s
        .register(registry);
  }

  private static double[] percentilesMillis(HistogramSnapshot snapshot) {
    double[] values = new double[PERCENTILES.length];
    for (ValueAtPercentile value : snapshot.percentileValues()) {
      for (int i = 0; i < PERCENTILES.length; i++) {
        if (value.percentile() == PERCENTILES[i]) {
          values[i] = value.value(TimeUnit.MILLISECONDS);
        }
      }
    }
    return values;
  }

  private record HandlerMeters(Map<JobState, Counter> ended, Timer waitTime, Timer runTime) {}
}
