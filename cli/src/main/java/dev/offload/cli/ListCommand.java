package dev.offload.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.client.OffloadClient;
import dev.offload.sdk.Json;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code offload list}: the jobs the service holds. */
@Command(name = "list", description = "List the jobs the service holds, oldest first.")
final class ListCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--state", paramLabel = "STATE", description = "Only jobs in this state: QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED or TIMED_OUT.")
  String state;

  @Option(names = "--json", description = "Print a JSON array of job records.")
  boolean json;

  @Override
  public Integer call() {
    JobState filter = state == null ? null : parseState(state);
    try (OffloadClient client = server.connect()) {
      List<Job> jobs = client.wire().list(filter);
      var out = spec.commandLine().getOut();
      if (json) {
        ArrayNode array = Json.mapper().createArrayNode();
        jobs.forEach(j -> array.add(JobJson.of(j)));
        out.println(JobJson.pretty(array));
        out.flush();
        return ExitCodes.OK;
      }
      Table table = new Table("ID", "STATE", "HANDLER", "WORKER", "QUEUED", "RUN", "ERROR");
      for (Job job : jobs) {
        table.row(job.getId(), job.getState(), job.getHandler(), job.getWorkerPid() == 0 ? "-" : job.getWorkerPid(),
            DurationConverter.format(job.getQueuedMs()), DurationConverter.format(job.getRunMs()),
            job.hasError() ? job.getError().getCode() : "");
      }
      table.print(out);
      return ExitCodes.OK;
    }
  }

  private static JobState parseState(String text) {
    List<String> known = Arrays.stream(JobState.values())
        .filter(s -> s != JobState.JOB_STATE_UNSPECIFIED && s != JobState.UNRECOGNIZED)
        .map(Enum::name)
        .toList();
    String upper = text.toUpperCase(Locale.ROOT);
    if (!known.contains(upper)) {
      throw new CliException(ExitCodes.USAGE, "unknown state '" + text + "'; use one of " + known.stream().collect(Collectors.joining(", ")));
    }
    return JobState.valueOf(upper);
  }
}
