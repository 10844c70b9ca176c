package dev.offload.worker;

import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;

/**
 * Handlers that exist only in the tests. They are public with public no-argument constructors
 * because {@link java.util.ServiceLoader} requires it; {@link TestRegistry} lists them in a
 * services file of its own, so they never join the module's built-ins by accident.
 */
public final class TestHandlers {

  private TestHandlers() {}

  /** Throws: {@code "argument"} an IllegalArgumentException, {@code "silent"} one without message. */
  public static final class FailingHandler implements JobHandler {
    @Override
    public String name() {
      return "fail";
    }

    @Override
    public String description() {
      return "Test: always throws";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      switch (Json.parse(inputJson).asText("")) {
        case "argument" -> throw new IllegalArgumentException("fail takes nothing it likes");
        case "silent" -> throw new IllegalStateException();
        default -> throw new IllegalStateException("boom");
      }
    }
  }

  /** Returns text that is not JSON. */
  public static final class NotJsonHandler implements JobHandler {
    @Override
    public String name() {
      return "not_json";
    }

    @Override
    public String description() {
      return "Test: returns text that is not JSON";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return "this is not JSON";
    }
  }

  /** Returns its input's {@code text} field verbatim, JSON or not. */
  public static final class RawOutputHandler implements JobHandler {
    @Override
    public String name() {
      return "raw_output";
    }

    @Override
    public String description() {
      return "Test: returns {\"text\": S} as S, unchecked";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return Json.parse(inputJson).path("text").asText();
    }
  }

  /** Returns a null string instead of JSON text. */
  public static final class NullOutputHandler implements JobHandler {
    @Override
    public String name() {
      return "null_output";
    }

    @Override
    public String description() {
      return "Test: returns a null string";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return null;
    }
  }

  /**
   * Reports progress "started" first, so a test knows the job is running rather than queued, then
   * sleeps for {@code {"ms": N}} (interruptibly) and returns {@code {"slept_ms": N}}.
   */
  public static final class HoldHandler implements JobHandler {
    @Override
    public String name() {
      return "hold";
    }

    @Override
    public String description() {
      return "Test: reports it started, then sleeps {\"ms\": N}";
    }

    @Override
    public String run(String inputJson, JobContext context) throws InterruptedException {
      long ms = Json.parse(inputJson).path("ms").asLong();
      context.reportProgress(0.0, "started");
      Thread.sleep(ms);
      var output = Json.object();
      output.put("slept_ms", ms);
      return Json.write(output);
    }
  }

  /**
   * Reports 0.25, then 0.5 at once, then 1.5 with a null message, and returns the nanoseconds
   * between the first two reports as {@code {"gap_nanos": N}}.
   */
  public static final class ProgressHandler implements JobHandler {
    @Override
    public String name() {
      return "progress";
    }

    @Override
    public String description() {
      return "Test: reports progress three times in a row";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      long before = System.nanoTime();
      context.reportProgress(0.25, "a quarter");
      context.reportProgress(0.5, "half");
      long gap = System.nanoTime() - before;
      context.reportProgress(1.5, null);
      var output = Json.object();
      output.put("gap_nanos", gap);
      return Json.write(output);
    }
  }

  /** Interrupts its own thread and returns normally, like a cancel that lands as a job ends. */
  public static final class SelfInterruptHandler implements JobHandler {
    @Override
    public String name() {
      return "self_interrupt";
    }

    @Override
    public String description() {
      return "Test: leaves its thread interrupted";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      Thread.currentThread().interrupt();
      return "true";
    }
  }

  /** Named like the built-in echo. */
  public static final class ShadowEchoHandler implements JobHandler {
    @Override
    public String name() {
      return "echo";
    }

    @Override
    public String description() {
      return "Test: clashes with the built-in echo";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return inputJson;
    }
  }

  /** Named like the built-in echo, but test-only. */
  public static final class TestOnlyEchoHandler implements JobHandler {
    @Override
    public String name() {
      return "echo";
    }

    @Override
    public String description() {
      return "Test: a test-only handler that clashes with the built-in echo";
    }

    @Override
    public boolean testOnly() {
      return true;
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return inputJson;
    }
  }

  /** One of two handlers named {@code twin}. */
  public static final class TwinAHandler implements JobHandler {
    @Override
    public String name() {
      return "twin";
    }

    @Override
    public String description() {
      return "Test: twin A";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return "\"a\"";
    }
  }

  /** The other handler named {@code twin}. */
  public static final class TwinBHandler implements JobHandler {
    @Override
    public String name() {
      return "twin";
    }

    @Override
    public String description() {
      return "Test: twin B";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return "\"b\"";
    }
  }

  /** Cannot even be constructed. */
  public static final class BrokenHandler implements JobHandler {
    public BrokenHandler() {
      throw new IllegalStateException("broken on purpose");
    }

    @Override
    public String name() {
      return "broken";
    }

    @Override
    public String description() {
      return "Test: its constructor throws";
    }

    @Override
    public String run(String inputJson, JobContext context) {
      return "null";
    }
  }
}
