package dev.offload.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A handler that records each of its executions, for tests that count real runs rather than the
 * store's attempts: it appends {@code "LINE JOB_ID\n"} to the file its input names, then sleeps.
 * It records before it works, so a run cut short (its worker or service killed) is counted too.
 * One write in append mode per run, a few bytes, so records of workers writing at once stay whole.
 * Given to workers in a plugin jar ({@link PluginJar}); input {@code {"line": N, "log": PATH,
 * "ms": M}}, output {@code {"line": N}}.
 */
public final class RecordingHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public RecordingHandler() {}

  @Override
  public String name() {
    return "record";
  }

  @Override
  public String description() {
    return "Test plugin: appends \"LINE JOB_ID\" to {\"log\": PATH} for {\"line\": N}, then sleeps {\"ms\": M}";
  }

  @Override
  public String run(String inputJson, JobContext context) throws Exception {
    JsonNode input = Json.parse(inputJson);
    long line = input.get("line").asLong();
    Files.writeString(Path.of(input.get("log").asText()), line + " " + context.jobId() + "\n",
        StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    Thread.sleep(input.path("ms").asLong());
    return "{\"line\": " + line + "}";
  }
}
