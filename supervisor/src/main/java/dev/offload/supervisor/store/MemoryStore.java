package dev.offload.supervisor.store;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;

/**
 * The store that keeps nothing ({@code memory:}): jobs live in the service's memory only and end
 * with it. Every write completes at once, on the caller's thread, so the path of a job is exactly
 * what it is without a store. What the private pool of {@code run} and {@code batch} and an
 * embedded {@code ProcessPool} use unless given another.
 */
public final class MemoryStore implements Store {

  @Override
  public String kind() {
    return "memory";
  }

  @Override
  public String url() {
    return "memory:";
  }

  @Override
  public Recovery open(Executor completions, LongConsumer commitNanos) {
    return Recovery.empty();
  }

  @Override
  public boolean recordsNothing() {
    return true;
  }

  @Override
  public void accepted(JobRecord job, Completion done) {
    done.done(null);
  }

  @Override
  public void started(List<JobRecord> jobs, Completion done) {
    done.done(null);
  }

  @Override
  public void queued(JobRecord job) {}

  @Override
  public void ended(JobRecord job, Completion done) {
    done.done(null);
  }

  @Override
  public long reservedIdsBelow() {
    return Long.MAX_VALUE;
  }

  @Override
  public long sizeBytes() {
    return 0;
  }

  @Override
  public long jobsKept() {
    return 0;
  }

  @Override
  public void close() {}
}
