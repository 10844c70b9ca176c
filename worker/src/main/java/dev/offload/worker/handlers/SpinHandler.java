package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.Json;
import dev.offload.sdk.JobHandler;

/**
 * Burns one core for a given time: a stand-in for CPU-bound work. With {@code ignore_cancel} it
 * neither checks cancellation nor notices interrupts, like code that cannot be stopped politely.
 */
public final class SpinHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public SpinHandler() {}

  @Override
  public String name() {
    return "spin";
  }

  @Override
  public String description() {
    return "Burns CPU for {\"ms\": N} milliseconds; \"ignore_cancel\": true makes it uncancellable";
  }

  @Override
  public String run(String inputJson, JobContext context) {
    JsonNode input = Json.parse(inputJson);
    long ms = Inputs.millis(input, name());
    boolean ignoreCancel = input.path("ignore_cancel").asBoolean(false);
    long end = System.nanoTime() + ms * 1_000_000;
    long iterations = 0;
    long sink = 0;
    while (System.nanoTime() < end) {
      for (int i = 0; i < 10_000; i++) {
        sink += (sink * 31 + i) ^ (sink >>> 7);
      }
      iterations++;
      if (!ignoreCancel) {
        context.checkCancelled();
      }
    }
    var output = Json.object();
    output.put("ms", ms);
    output.put("iterations", iterations);
    output.put("checksum", sink & 0xffff);
    return Json.write(output);
  }
}
