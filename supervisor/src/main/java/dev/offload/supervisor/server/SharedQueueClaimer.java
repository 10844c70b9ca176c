package dev.offload.supervisor.server;

import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.JobStore;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.SharedStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes jobs from a shared store's queue for this service's free workers, on a thread of its own:
 * a claim waits on the database, which an event loop must never do.
 *
 * <p>It claims when woken (a worker became idle, or another service put jobs in the queue) and,
 * as a safety net against a lost notification, every second. Each claim asks for no more jobs
 * than the workers idle now can start, so jobs are not held by a busy service while another is
 * free.
 */
final class SharedQueueClaimer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SharedQueueClaimer.class);

  /** The most jobs one claim takes: bounds the statement, not the service, which claims again. */
  static final int MAX_CLAIM = 64;

  /** How often it claims with no reason to: a notification may be lost with its connection. */
  private static final long SAFETY_NET_MILLIS = 1_000;

  private final SharedStore store;
  private final Dispatcher dispatcher;
  private final JobStore jobs;
  /** Told how long each claim took, in nanoseconds. */
  private final LongConsumer claimNanos;
  /** Released to wake the claimer; a few permits too many only cost a claim that finds nothing. */
  private final Semaphore wake = new Semaphore(0);
  private final Thread thread;
  private volatile boolean closed;
  /** Whether the last claim failed, so that a database outage is logged once, not every second. */
  private boolean failing;

  SharedQueueClaimer(SharedStore store, Dispatcher dispatcher, JobStore jobs, LongConsumer claimNanos) {
    this.store = store;
    this.dispatcher = dispatcher;
    this.jobs = jobs;
    this.claimNanos = claimNanos;
    this.thread = Thread.ofPlatform().name("offload-claimer").daemon(true).unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** Makes the claimer claim soon; never blocks. */
  void wake() {
    if (wake.availablePermits() == 0) {
      wake.release();
    }
  }

  private void run() {
    while (!closed) {
      try {
        wake.tryAcquire(SAFETY_NET_MILLIS, TimeUnit.MILLISECONDS);
        wake.drainPermits();
        claimWhileFree();
        if (failing) {
          failing = false;
          LOG.info("claiming from the shared queue in {} works again", store.url());
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        if (!failing) {
          failing = true;
          LOG.warn("cannot claim jobs from the shared queue in {} (trying again every second): {}", store.url(), e.getMessage());
        }
      }
    }
  }

  private void claimWhileFree() {
    for (int free = dispatcher.freeCapacity(); free > 0 && !closed; free = dispatcher.freeCapacity()) {
      long began = System.nanoTime();
      List<JobRecord> records = store.claim(Math.min(free, MAX_CLAIM));
      claimNanos.accept(System.nanoTime() - began);
      if (records.isEmpty()) {
        return;
      }
      List<Job> claimed = new ArrayList<>(records.size());
      for (JobRecord record : records) {
        Job job = jobs.follow(record);
        job.claimedAs(record);
        claimed.add(job);
      }
      dispatcher.claimed(claimed);
    }
  }

  /** Stops claiming; waits a bounded time for a claim under way. */
  @Override
  public void close() {
    closed = true;
    wake.release();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
