package dev.offload.supervisor.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.supervisor.client.OffloadClient;
import dev.offload.worker.api.Json;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code offload stats}: the pool's workers, queue and job counts. */
@Command(name = "stats", description = "Show the workers, the queue and job counts by state.")
final class StatsCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--json", description = "Print the figures as JSON.")
  boolean json;

  @Override
  public Integer call() {
    try (OffloadClient client = server.connect()) {
      GetPoolStatusResponse status = client.poolStatus();
      var out = spec.commandLine().getOut();
      if (json) {
        out.println(JobJson.pretty(toJson(status)));
        out.flush();
        return ExitCodes.OK;
      }
      out.printf("uptime %s, queue %d of %d%s%n", DurationConverter.format(status.getUptimeMs() / 1000 * 1000),
          status.getQueueDepth(), status.getMaxQueue(), status.getShuttingDown() ? ", shutting down" : "");
      StringBuilder counts = new StringBuilder("jobs:");
      for (JobState state : JobState.values()) {
        if (state != JobState.JOB_STATE_UNSPECIFIED && state != JobState.UNRECOGNIZED) {
          counts.append(' ').append(state.name().toLowerCase()).append(' ').append(status.getJobsByStateOrDefault(state.name(), 0));
        }
      }
      out.println(counts);
      Table table = new Table("SLOT", "PID", "STATE", "JOB", "DONE", "UPTIME", "RESTARTS", "LAST RESTART");
      for (WorkerStatus w : status.getWorkersList()) {
        table.row(w.getSlot(), w.getPid() == 0 ? "-" : w.getPid(), w.getState(), w.getCurrentJobId().isEmpty() ? "-" : w.getCurrentJobId(),
            w.getJobsDone(), DurationConverter.format(w.getUptimeMs() / 1000 * 1000), w.getRestarts(), w.getLastRestartReason());
      }
      table.print(out);
      return ExitCodes.OK;
    }
  }

  private static ObjectNode toJson(GetPoolStatusResponse status) {
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
          .put("last_restart_reason", w.getLastRestartReason().isEmpty() ? null : w.getLastRestartReason());
    }
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
    return root;
  }
}
