package dev.offload.supervisor.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What closing intake does to queued jobs: left queued for the next service (and their followers
 * told so), or cancelled. No worker is attached, so every job submitted waits in the queue.
 */
class DispatcherShutdownTest {

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final JobStore jobs = new JobStore(100, 1 << 20, job -> {});
  private final Dispatcher dispatcher = new Dispatcher(100, Duration.ofSeconds(1), scheduler);

  @AfterEach
  void stopTimers() {
    scheduler.shutdownNow();
  }

  /** What a listener was told: each event's job state (or "progress"), and "kept". */
  private static final class Told implements Job.Listener {
    final List<String> what = new ArrayList<>();

    @Override
    public synchronized void event(JobEvent event) {
      what.add(event.hasJob() ? event.getJob().getState().name() : "progress");
    }

    @Override
    public synchronized void kept(Job job) {
      what.add("kept");
    }
  }

  private Job queued() throws JobRejectedException {
    Job job = jobs.create("echo", "1", 0, 0, 0);
    dispatcher.submit(job, recorded -> {});
    return job;
  }

  @Test
  void closeIntakeKeepingQueued_leavesThemQueued_tellsTheirFollowers_andRefusesNewJobs() throws Exception {
    Job first = queued();
    Job second = queued();
    Told following = new Told();
    first.subscribe(following);

    List<Job> kept = dispatcher.closeIntakeKeepingQueued();

    assertEquals(List.of(first, second), kept);
    assertEquals(0, dispatcher.queueDepth());
    for (Job job : kept) {
      assertEquals(JobState.QUEUED, job.state(), "not ended: the next service runs it");
      assertTrue(job.isKept());
    }
    assertEquals(List.of("QUEUED", "kept"), following.what, "told once, and no terminal event");
    Told later = new Told();
    second.subscribe(later);
    assertEquals(List.of("QUEUED", "kept"), later.what, "a follower that comes later is told at once");
    JobRejectedException refused = assertThrows(JobRejectedException.class, this::queued);
    assertEquals(JobRejectedException.Reason.SHUTTING_DOWN, refused.reason());
  }

  @Test
  void keptJob_cancelledWhileTheServiceStops_endsCancelled() throws Exception {
    Job job = queued();
    dispatcher.closeIntakeKeepingQueued();

    dispatcher.cancel(job);

    assertEquals(JobState.CANCELLED, job.state(), "its end is recorded, so the next service does not run it");
    assertEquals("CANCELLED", job.toProto().getError().getCode());
    assertFalse(job.isKept());
  }

  @Test
  void closeIntake_cancelsQueuedJobs_withCodeShutdown() throws Exception {
    Job job = queued();
    Told following = new Told();
    job.subscribe(following);

    assertEquals(1, dispatcher.closeIntake());

    assertEquals(JobState.CANCELLED, job.state());
    assertEquals("SHUTDOWN", job.toProto().getError().getCode());
    assertFalse(job.isKept());
    assertEquals(List.of("QUEUED", "CANCELLED"), following.what);
  }
}
