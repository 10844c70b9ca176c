package dev.offload.supervisor.job;

import dev.offload.proto.v1.JobState;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Every job the supervisor knows, by id. Jobs that have ended are kept for status and result
 * queries up to a bound; past it the oldest finished ones are forgotten, so a long batch runs in
 * bounded memory. Thread-safe.
 */
public final class JobStore {

  private final int keepFinished;
  private final Consumer<Job> onEnd;
  private final AtomicLong sequence = new AtomicLong();
  private final Map<String, Job> byId = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Job> finished = new ConcurrentLinkedQueue<>();
  private final AtomicInteger finishedCount = new AtomicInteger();

  /**
   * @param keepFinished how many ended jobs to remember at most
   * @param onEnd told of every job as it ends (for metrics); must not block
   */
  public JobStore(int keepFinished, Consumer<Job> onEnd) {
    this.keepFinished = keepFinished;
    this.onEnd = onEnd;
  }

  /** Creates a QUEUED job and remembers it; see {@link Job#Job} for the limits. */
  public Job create(String handler, String inputJson, long timeoutMillis, long deadlineMillis, int retries) {
    Job job = new Job(sequence.incrementAndGet(), handler, inputJson, timeoutMillis, deadlineMillis, retries, this::remembered);
    byId.put(job.id(), job);
    return job;
  }

  /** Forgets a job that was never accepted (its submission was refused). */
  public void discard(Job job) {
    byId.remove(job.id());
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

  private void remembered(Job job) {
    onEnd.accept(job);
    finished.add(job);
    if (finishedCount.incrementAndGet() > keepFinished) {
      Job oldest = finished.poll();
      if (oldest != null) {
        finishedCount.decrementAndGet();
        byId.remove(oldest.id());
      }
    }
  }
}
