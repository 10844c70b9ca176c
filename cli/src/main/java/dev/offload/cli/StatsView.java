package dev.offload.cli;

import dev.offload.proto.v1.ServiceStatus;
import java.time.Instant;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.HandlerTimes;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.WorkerState;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.sdk.Json;
import java.io.PrintWriter;

/** How a pool's status reads, as text ({@code stats}, {@code top}) and as JSON ({@code stats --json}). */
final class StatsView {

  private StatsView() {}

  /** The status as a few lines and two tables. */
  static void print(GetPoolStatusResponse status, PrintWriter out) {
    int ready = readyWorkers(status);
    out.printf("uptime %s, queue %d of %d, workers %d of %d ready%s%n", DurationConverter.format(status.getUptimeMs() / 1000 * 1000),
        status.getQueueDepth(), status.getMaxQueue(), ready, status.getWorkersCount(), status.getShuttingDown() ? ", shutting down" : "");
    if (ready == 0 && !status.getShuttingDown()) {
      out.println("NO WORKER IS READY: jobs wait until one is; LAST RESTART below says why (the service's log has the rest)");
    }
    StringBuilder counts = new StringBuilder("jobs:");
    for (JobState state : JobState.values()) {
      if (state != JobState.JOB_STATE_UNSPECIFIED && state != JobState.UNRECOGNIZED) {
        counts.append(' ').append(state.name().toLowerCase()).append(' ').append(status.getJobsByStateOrDefault(state.name(), 0));
      }
    }
    out.println(counts);
    out.printf("throughput %.2f jobs/s over the last minute%n", status.getJobsPerSecondLastMinute());
    if (status.hasStore()) {
      var store = status.getStore();
      out.println(store.getKind().equals("memory") ? "store " + store.getUrl() + " (nothing kept)"
          : String.format("store %s, %s durability, %s, %d jobs kept", store.getUrl(), store.getDurability(),
              size(store.getSizeBytes()), store.getJobsKept()));
      if (!store.getFailure().isEmpty()) {
        out.println("THE STORE CANNOT WRITE: new jobs are refused, and " + store.getHeldWrites() + " changes (job starts and ends)"
            + " are held in memory until it can; a held end reaches its clients once recorded. " + store.getFailure());
      }
    }
    if (status.getServicesCount() > 0) {
      out.printf("cluster: %d services, %d jobs in the shared queue%n", status.getServicesCount(), status.getSharedQueueDepth());
      Table services = new Table("SERVICE", "ADDRESS", "WORKERS", "HELD", "LAST HEARTBEAT");
      for (ServiceStatus s : status.getServicesList()) {
        services.row(s.getName(), s.getAddress(), s.getWorkers(), s.getJobsHeld(), Instant.ofEpochMilli(s.getLastHeartbeatMs()));
      }
      services.print(out);
      out.println();
    }
    Table table = new Table("SLOT", "PID", "STATE", "JOB", "HELD", "DONE", "RSS", "CPU", "UPTIME", "RESTARTS", "LAST RESTART");
    for (WorkerStatus w : status.getWorkersList()) {
      table.row(w.getSlot(), w.getPid() == 0 ? "-" : w.getPid(), w.getState(), w.getCurrentJobId().isEmpty() ? "-" : w.getCurrentJobId(),
          w.getJobsHeld(), w.getJobsDone(), mebibytes(w.getRssBytes()), String.format("%.1fs", w.getCpuMs() / 1000.0),
          DurationConverter.format(w.getUptimeMs() / 1000 * 1000), w.getRestarts(), w.getLastRestartReason());
    }
    table.print(out);
    if (status.getHandlerTimesCount() > 0) {
      out.println();
      Table times = new Table("HANDLER", "JOBS", "WAIT P50", "P90", "P99", "RUN P50", "P90", "P99");
      for (HandlerTimes t : status.getHandlerTimesList()) {
        times.row(t.getHandler(), t.getJobs(), millis(t.getWaitP50Ms()), millis(t.getWaitP90Ms()), millis(t.getWaitP99Ms()),
            millis(t.getRunP50Ms()), millis(t.getRunP90Ms()), millis(t.getRunP99Ms()));
      }
      times.print(out);
    }
  }

  static ObjectNode toJson(GetPoolStatusResponse status) {
    ObjectNode root = Json.object();
    var workers = root.putArray("workers");
    for (WorkerStatus w : status.getWorkersList()) {
      workers.addObject()
          .put("slot", w.getSlot())
          .put("pid", w.getPid())
          .put("state", w.getState().name())
          .put("current_job", w.getCurrentJobId().isEmpty() ? null : w.getCurrentJobId())
          .put("jobs_done", w.getJobsDone())
          .put("uptime_ms", w.getUptimeMs())
          .put("restarts", w.getRestarts())
          .put("last_restart_reason", w.getLastRestartReason().isEmpty() ? null : w.getLastRestartReason())
          .put("jobs_held", w.getJobsHeld())
          .put("rss_bytes", w.getRssBytes())
          .put("cpu_ms", w.getCpuMs());
    }
    root.put("ready_workers", readyWorkers(status));
    root.put("queue_depth", status.getQueueDepth());
    root.put("max_queue", status.getMaxQueue());
    ObjectNode jobs = root.putObject("jobs_by_state");
    for (JobState state : JobState.values()) {
      if (state != JobState.JOB_STATE_UNSPECIFIED && state != JobState.UNRECOGNIZED) {
        jobs.put(state.name(), status.getJobsByStateOrDefault(state.name(), 0));
      }
    }
    root.put("uptime_ms", status.getUptimeMs());
    root.put("shutting_down", status.getShuttingDown());
    root.put("jobs_per_second_last_minute", status.getJobsPerSecondLastMinute());
    if (status.hasStore()) {
      var store = status.getStore();
      root.putObject("store")
          .put("kind", store.getKind())
          .put("url", store.getUrl())
          .put("size_bytes", store.getSizeBytes())
          .put("jobs_kept", store.getJobsKept())
          .put("durability", store.getDurability().isEmpty() ? null : store.getDurability())
          .put("failure", store.getFailure().isEmpty() ? null : store.getFailure())
          .put("held_writes", store.getHeldWrites());
    } else {
      root.putNull("store");
    }
    // With a shared store, the cluster: its services (this one included) and its shared queue.
    var services = root.putArray("services");
    for (ServiceStatus s : status.getServicesList()) {
      services.addObject()
          .put("name", s.getName())
          .put("address", s.getAddress())
          .put("workers", s.getWorkers())
          .put("jobs_held", s.getJobsHeld())
          .put("last_heartbeat", Instant.ofEpochMilli(s.getLastHeartbeatMs()).toString());
    }
    root.put("shared_queue_depth", status.getSharedQueueDepth());
    var handlers = root.putArray("handler_times");
    for (HandlerTimes t : status.getHandlerTimesList()) {
      handlers.addObject()
          .put("handler", t.getHandler())
          .put("jobs", t.getJobs())
          .put("wait_p50_ms", t.getWaitP50Ms())
          .put("wait_p90_ms", t.getWaitP90Ms())
          .put("wait_p99_ms", t.getWaitP99Ms())
          .put("run_p50_ms", t.getRunP50Ms())
          .put("run_p90_ms", t.getRunP90Ms())
          .put("run_p99_ms", t.getRunP99Ms());
    }
    return root;
  }

  /** Workers that can take a job now: idle or busy, not starting or stopping. */
  private static int readyWorkers(GetPoolStatusResponse status) {
    return (int) status.getWorkersList().stream()
        .filter(w -> w.getState() == WorkerState.IDLE || w.getState() == WorkerState.BUSY)
        .count();
  }

  private static String mebibytes(long bytes) {
    return bytes == 0 ? "-" : String.format("%.0fM", bytes / 1048576.0);
  }

  /** A size in KiB below a MiB, else in MiB: a new store is a few hundred KiB. */
  private static String size(long bytes) {
    return bytes < 1048576 ? String.format("%.0fK", bytes / 1024.0) : String.format("%.1fM", bytes / 1048576.0);
  }

  private static String millis(double ms) {
    return ms < 10 ? String.format("%.2fms", ms) : String.format("%.0fms", ms);
  }
}
