package dev.offload.worker.handlers;

import dev.offload.sdk.JobContext;
import dev.offload.sdk.Json;
import dev.offload.sdk.JobHandler;

/** Sleeps for a given time without using CPU: a stand-in for a job that waits. */
public final class SleepHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public SleepHandler() {}

  @Override
  public String name() {
    return "sleep";
  }

  @Override
  public String description() {
    return "Sleeps for {\"ms\": N} milliseconds; cancellation wakes it";
  }

  @Override
  public String run(String inputJson, JobContext context) throws InterruptedException {
    long ms = Inputs.millis(Json.parse(inputJson), name());
    Thread.sleep(ms);
    var output = Json.object();
    output.put("slept_ms", ms);
    return Json.write(output);
  }
}
