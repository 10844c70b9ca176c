package dev.offload.supervisor.store;

import java.util.List;

/**
 * What a store gives back when a service opens it: the jobs an earlier service left, already
 * settled. Jobs that were running when it was lost are back in {@code queued} with their attempt
 * counted if they had retries left, and otherwise in {@code finished}, FAILED with the code
 * {@link #SERVICE_LOST}.
 *
 * @param nextId the first id this service may give a job: ids never repeat
 * @param queued the jobs to run, in the order they were accepted
 * @param finished the finished jobs kept (up to {@code --keep-finished}), in the order they ended
 * @param lostAtMs when the store last knew the earlier service alive (ms since the epoch), if it
 *     was lost with jobs running or queued; 0 otherwise
 * @param requeued how many of {@code queued} were running and go again
 * @param lost how many running jobs ended {@code SERVICE_LOST}
 */
public record Recovery(long nextId, List<JobRecord> queued, List<JobRecord> finished, long lostAtMs, int requeued, int lost) {

  /** The error code of a job that was running, with no retries left, when its service was lost. */
  public static final String SERVICE_LOST = "SERVICE_LOST";

  /** What a new, empty store gives back. */
  public static Recovery empty() {
    return new Recovery(1, List.of(), List.of(), 0, 0, 0);
  }
}
