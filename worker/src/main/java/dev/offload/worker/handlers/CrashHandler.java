package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.Json;
import dev.offload.sdk.JobHandler;
import java.util.ArrayList;
import java.util.List;

/**
 * Kills or wedges its own worker on purpose, to prove that the pool survives it. Offered only when
 * the service runs with test handlers enabled.
 */
public final class CrashHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public CrashHandler() {}

  @Override
  public String name() {
    return "crash";
  }

  @Override
  public String description() {
    return "Test only: {\"mode\": \"exit\"|\"halt\"|\"oom\"|\"hang\", \"code\": N} ends or wedges its worker";
  }

  @Override
  public boolean testOnly() {
    return true;
  }

  @Override
  public String run(String inputJson, JobContext context) {
    JsonNode input = Json.parse(inputJson);
    int code = input.path("code").asInt(1);
    switch (input.path("mode").asText("")) {
      case "exit" -> System.exit(code);
      case "halt" -> Runtime.getRuntime().halt(code);
      case "oom" -> exhaustHeap();
      case "hang" -> hangIgnoringInterrupts();
      default ->
          throw new IllegalArgumentException(
              "crash takes {\"mode\": \"exit\"|\"halt\"|\"oom\"|\"hang\"}, got " + input);
    }
    throw new AssertionError("unreachable: mode " + input.path("mode") + " returned");
  }

  private static void exhaustHeap() {
    List<long[]> hoard = new ArrayList<>();
    while (true) {
      hoard.add(new long[1 << 20]);
    }
  }

  @SuppressWarnings("InfiniteLoopStatement")
  private static void hangIgnoringInterrupts() {
    while (true) {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException ignored) {
        // Deliberately deaf: this mode stands for code that cannot be stopped politely.
      }
    }
  }
}
