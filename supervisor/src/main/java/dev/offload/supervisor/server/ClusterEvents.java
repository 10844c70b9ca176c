package dev.offload.supervisor.server;

import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.JobStore;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.SharedStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this service does about what the other services of its cluster did, as its shared store
 * tells it: claims when jobs were queued, stops a job it holds when a stop was asked through
 * another service, and tells the followers of a job it does not hold that the job ended.
 *
 * <p>The store calls it on its listener thread, which must not wait: anything that needs the
 * database runs on a virtual thread of its own.
 */
final class ClusterEvents implements SharedStore.Listener, Dispatcher.StopElsewhere {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterEvents.class);

  /** How often the ends of followed jobs are read again while the store cannot be read. */
  private static final long RETRY_MILLIS = 1_000;

  private final SharedStore store;
  private final Dispatcher dispatcher;
  private final JobStore jobs;
  private final SharedQueueClaimer claimer;

  ClusterEvents(SharedStore store, Dispatcher dispatcher, JobStore jobs, SharedQueueClaimer claimer) {
    this.store = store;
    this.dispatcher = dispatcher;
    this.jobs = jobs;
    this.claimer = claimer;
  }

  @Override
  public void jobsAvailable() {
    claimer.wake();
  }

  @Override
  public void stopRequested(long id, JobState terminal, String code, String message) {
    jobs.find(Job.idOf(id)).ifPresentOrElse(job -> dispatcher.stopAsAsked(job, terminal, code, message),
        () -> LOG.debug("asked to stop job {}, which this service does not hold", Job.idOf(id)));
  }

  @Override
  public void ended(long[] ids) {
    Map<Long, Job> followed = new HashMap<>();
    for (long id : ids) {
      followedHere(id).ifPresent(job -> followed.put(id, job));
    }
    if (!followed.isEmpty()) {
      Thread.ofVirtual().name("offload-ended-elsewhere").start(() -> publishEnds(followed));
    }
  }

  /**
   * Tells the followers here of ends that came with their notification: on the listener thread,
   * since telling them does not wait (their streams take the event, or drop it).
   */
  @Override
  public void endedAs(List<JobRecord> ends) {
    for (JobRecord end : ends) {
      followedHere(end.id()).ifPresent(job -> dispatcher.endedElsewhere(job, end));
    }
  }

  /** The job of this id if this service follows it: known here, not ended, and held by another service. */
  private Optional<Job> followedHere(long id) {
    return jobs.find(Job.idOf(id)).filter(job -> !job.isTerminal() && !dispatcher.holds(job));
  }

  /**
   * Reads the ends of jobs this service follows and tells their followers; while the store cannot
   * be read (it has just come back from an outage, say), tries again every second: the
   * notification will not come again, and a follower must hear of every end.
   */
  private void publishEnds(Map<Long, Job> followed) {
    for (boolean told = false; ; ) {
      try {
        for (JobRecord record : store.find(new ArrayList<>(followed.keySet()))) {
          if (record.finished()) {
            dispatcher.endedElsewhere(followed.get(record.id()), record);
          }
        }
        return;
      } catch (RuntimeException e) {
        if (!told) {
          told = true;
          LOG.warn("could not read the ends of {} jobs that ended on other services from {}: {}; trying again every second",
              followed.size(), store.url(), e.getMessage());
        }
      }
      if (followed.values().stream().allMatch(Job::isTerminal)) {
        return; // told some other way meanwhile (a re-sync after a reconnect)
      }
      try {
        Thread.sleep(RETRY_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void leaseLost() {
    LOG.warn("this service's lease in {} expired before it could renew it (was it paused, or cut off from the database?);"
        + " the other services have settled the jobs it held, and their results here are not recorded. It goes on under"
        + " a new lease", store.url());
  }

  /** Stops a job of this service's that waits in the shared queue, through the store. */
  @Override
  public void stop(Job job, JobState terminal, String code, String message) {
    Thread.ofVirtual().name("offload-stop-elsewhere").start(() -> {
      try {
        if (store.requestStop(job.sequence(), terminal, code, message) == SharedStore.StopOutcome.ENDED) {
          store.find(job.sequence()).filter(JobRecord::finished).ifPresent(record -> dispatcher.endedElsewhere(job, record));
        }
      } catch (RuntimeException e) {
        LOG.warn("could not stop {} in the shared queue of {}: {}", job, store.url(), e.getMessage());
      }
    });
  }
}
