package dev.offload.worker.handlers;

import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;

/** Returns its input unchanged: the no-op job, for round trips and benchmarks. */
public final class EchoHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public EchoHandler() {}

  @Override
  public String name() {
    return "echo";
  }

  @Override
  public String description() {
    return "Returns its input unchanged";
  }

  @Override
  public String run(String inputJson, JobContext context) {
    return inputJson;
  }
}
