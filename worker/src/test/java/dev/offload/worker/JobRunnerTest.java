package dev.offload.worker;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.proto.v1.ExecuteJob;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.worker.TestHandlers.FailingHandler;
import dev.offload.worker.TestHandlers.HoldHandler;
import dev.offload.worker.TestHandlers.NotJsonHandler;
import dev.offload.worker.TestHandlers.NullOutputHandler;
import dev.offload.worker.TestHandlers.ProgressHandler;
import dev.offload.worker.TestHandlers.RawOutputHandler;
import dev.offload.worker.TestHandlers.SelfInterruptHandler;
import dev.offload.sdk.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobRunnerTest {

  /** Far longer than any job here should take; a result that misses it is a failure, not a wait. */
  private static final long TIMEOUT_SECONDS = 10;

  private static final long MAX_OUTPUT_BYTES = 64;

  private record Progress(String jobId, JobProgress progress) {}

  private final BlockingQueue<JobResult> results = new LinkedBlockingQueue<>();
  private final BlockingQueue<Progress> progress = new LinkedBlockingQueue<>();
  /** Whether the job thread was interrupted while it delivered each result, in order. */
  private final BlockingQueue<Boolean> interruptedAtFinish = new LinkedBlockingQueue<>();
  private final JobRunner.Events events =
      new JobRunner.Events() {
        @Override
        public void progress(String jobId, JobProgress p) {
          progress.add(new Progress(jobId, p));
        }

        @Override
        public void finished(JobResult result) {
          interruptedAtFinish.add(Thread.currentThread().isInterrupted());
          results.add(result);
        }
      };

  @TempDir Path dir;
  private JobRunner runner;

  @BeforeEach
  void startRunner() throws Exception {
    HandlerRegistry registry =
        TestRegistry.load(
            dir,
            false,
            FailingHandler.class,
            NotJsonHandler.class,
            RawOutputHandler.class,
            NullOutputHandler.class,
            HoldHandler.class,
            ProgressHandler.class,
            SelfInterruptHandler.class);
    runner = new JobRunner(registry, MAX_OUTPUT_BYTES, LogEnd.UNKNOWN, events);
    runner.start();
  }

  @Test
  void offer_echoJob_resultCarriesInputAsOutput() throws Exception {
    String input = "{\"big\":18446744073709551617,\"price\":1.10,\"text\":\"h\\u00e9\"}";

    JobResult result = run("job-1", "echo", input);

    assertEquals("job-1", result.getJobId());
    assertEquals(JobResult.OutcomeCase.OUTPUT_JSON, result.getOutcomeCase());
    assertEquals(input, result.getOutputJson());
    assertTrue(result.getRunNanos() > 0);
  }

  @Test
  void offer_emptyInput_handlerSeesNull() throws Exception {
    JobResult result = run("job-1", "echo", "");

    assertEquals("null", result.getOutputJson());
  }

  @Test
  void offer_builtInIsPrime_resultIsItsOutput() throws Exception {
    JobResult result = run("job-1", "is_prime", "{\"n\": 97}");

    assertEquals("{\"n\":97,\"prime\":true}", result.getOutputJson());
  }

  @Test
  void offer_unknownHandler_failsWithHandlerError() throws Exception {
    JobResult result = run("job-1", "no_such_handler", "1");

    assertEquals("job-1", result.getJobId());
    assertEquals(JobResult.OutcomeCase.ERROR, result.getOutcomeCase());
    assertEquals("HANDLER_ERROR", result.getError().getCode());
    assertEquals("this worker has no handler 'no_such_handler'", result.getError().getMessage());
  }

  @Test
  void offer_handlerThrows_failsWithItsMessageAndRunsNextJob() throws Exception {
    JobResult failed = run("job-1", "fail", "\"state\"");

    assertEquals(JobResult.OutcomeCase.ERROR, failed.getOutcomeCase());
    assertEquals("HANDLER_ERROR", failed.getError().getCode());
    assertEquals("IllegalStateException: boom", failed.getError().getMessage());
    assertEquals("java.lang.IllegalStateException", failed.getError().getExceptionClass());
    assertTrue(failed.getError().getStackTrace().startsWith("java.lang.IllegalStateException: boom"), failed.getError().getStackTrace());
    assertTrue(failed.getError().getStackTrace().contains("at dev.offload.worker.TestHandlers$FailingHandler.run"),
        failed.getError().getStackTrace());

    JobResult next = run("job-2", "echo", "2");

    assertEquals("job-2", next.getJobId());
    assertEquals("2", next.getOutputJson());
  }

  @Test
  void stackTrace_ofADeepRecursion_isCutToItsBound_andSaysSo() {
    StackOverflowError deep = assertThrows(StackOverflowError.class, JobRunnerTest::recurse);

    String trace = JobRunner.stackTrace(deep);

    assertTrue(trace.length() <= 16 * 1024, "at most 16 KiB, as JobError.stack_trace promises: " + trace.length());
    assertTrue(trace.startsWith("java.lang.StackOverflowError"), trace.substring(0, 100));
    assertTrue(trace.endsWith("more characters cut; the worker's log has them all)\n"), trace.substring(trace.length() - 200));
  }

  @SuppressWarnings("InfiniteRecursion")
  private static int recurse() {
    return recurse() + 1;
  }

  @Test
  void offer_handlerRejectsInput_failsWithBareMessage() throws Exception {
    JobResult result = run("job-1", "fail", "\"argument\"");

    assertEquals("HANDLER_ERROR", result.getError().getCode());
    assertEquals("fail takes nothing it likes", result.getError().getMessage());
  }

  @Test
  void offer_handlerThrowsWithoutMessage_failsWithExceptionType() throws Exception {
    JobResult result = run("job-1", "fail", "\"silent\"");

    assertEquals("IllegalStateException", result.getError().getMessage());
  }

  @Test
  void offer_builtInRejectsInput_failsWithItsMessage() throws Exception {
    JobResult result = run("job-1", "is_prime", "\"seven\"");

    assertEquals("HANDLER_ERROR", result.getError().getCode());
    assertTrue(result.getError().getMessage().startsWith("is_prime takes"), result.getError().getMessage());
  }

  @Test
  void offer_handlerReturnsNonJson_failsSayingItsOutputIsNotJson() throws Exception {
    JobResult result = run("job-1", "not_json", "null");

    assertEquals(JobResult.OutcomeCase.ERROR, result.getOutcomeCase());
    assertEquals("HANDLER_ERROR", result.getError().getCode());
    // It is the output that is not JSON: the message must not blame the input.
    assertTrue(
        result.getError().getMessage().startsWith("the output of handler 'not_json' is not valid JSON: Unrecognized token 'this'"),
        result.getError().getMessage());
  }

  @Test
  void offer_handlerReturnsTwoValues_fails() throws Exception {
    JobResult result = run("job-1", "raw_output", "{\"text\": \"1 2\"}");

    assertEquals(JobResult.OutcomeCase.ERROR, result.getOutcomeCase());
  }

  @Test
  void offer_handlerReturnsBlankText_fails() throws Exception {
    JobResult result = run("job-1", "raw_output", "{\"text\": \" \"}");

    assertEquals(JobResult.OutcomeCase.ERROR, result.getOutcomeCase());
  }

  @Test
  void offer_handlerReturnsNullString_outputIsJsonNull() throws Exception {
    JobResult result = run("job-1", "null_output", "null");

    assertEquals(JobResult.OutcomeCase.OUTPUT_JSON, result.getOutcomeCase());
    assertEquals("null", result.getOutputJson());
  }

  @Test
  void offer_outputOverTheLimit_failsOutputTooLargeNamingTheFlag() throws Exception {
    String atLimit = "\"" + "a".repeat((int) MAX_OUTPUT_BYTES - 2) + "\"";
    String overLimit = "\"" + "é".repeat(40) + "\""; // 82 bytes in UTF-8, 42 characters

    assertEquals(atLimit, run("job-1", "echo", atLimit).getOutputJson());
    JobResult over = run("job-2", "echo", overLimit);

    assertEquals("OUTPUT_TOO_LARGE", over.getError().getCode());
    assertTrue(over.getError().getMessage().contains("82 bytes"), over.getError().getMessage());
    assertTrue(over.getError().getMessage().contains("--max-output-size"), over.getError().getMessage());
    assertEquals("3", run("job-3", "echo", "3").getOutputJson(), "the runner goes on");
  }

  @Test
  void offer_severalJobs_runInOrderEachWithOneResult() throws Exception {
    runner.offer(List.of(job("job-1", "echo", "1"), job("job-2", "echo", "2")));
    runner.offer(List.of(job("job-3", "echo", "3")));

    assertEquals("job-1", awaitResult().getJobId());
    assertEquals("job-2", awaitResult().getJobId());
    assertEquals("job-3", awaitResult().getJobId());
    assertNull(results.poll(50, MILLISECONDS), "a job reported twice");
  }

  @Test
  void cancel_jobWaitingBehindRunningOne_answeredAtOnceAndNeverRuns() throws Exception {
    runner.offer(List.of(job("job-1", "hold", "{\"ms\": 60000}"), job("job-2", "hold", "{\"ms\": 60000}")));
    awaitStarted("job-1");

    runner.cancel("job-2");
    JobResult dropped = awaitResult();

    assertEquals("job-2", dropped.getJobId());
    assertTrue(dropped.getCancelled());
    runner.cancel("job-1");
    JobResult first = awaitResult();
    assertEquals("job-1", first.getJobId());
    assertTrue(first.getCancelled());
    assertEquals("3", run("job-3", "echo", "3").getOutputJson());
    assertNull(progress.poll(), "job-2 was dropped, so it must never start");
  }

  @Test
  void cancel_runningSleep_resultIsCancelledPromptly() throws Exception {
    runner.offer(List.of(job("job-1", "sleep", "{\"ms\": 60000}")));

    // The built-in sleep gives no sign that it started. Either way one cancel must end it: a job
    // is always either waiting (then dropped) or running (then interrupted).
    long start = System.nanoTime();
    runner.cancel("job-1");
    JobResult result = awaitResult();
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    assertEquals("job-1", result.getJobId());
    assertEquals(JobResult.OutcomeCase.CANCELLED, result.getOutcomeCase());
    assertTrue(result.getCancelled());
    assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "cancel took " + took);
  }

  @Test
  void cancel_runningJob_resultIsCancelledAndNextJobIsUntouched() throws Exception {
    runner.offer(List.of(job("job-1", "hold", "{\"ms\": 60000}")));
    awaitStarted("job-1");

    runner.cancel("job-1");
    JobResult cancelled = awaitResult();

    assertEquals("job-1", cancelled.getJobId());
    assertTrue(cancelled.getCancelled());

    // A second, late cancel for job-1 must not reach job-2.
    runner.cancel("job-1");
    JobResult next = run("job-2", "hold", "{\"ms\": 50}");
    assertEquals("{\"slept_ms\":50}", next.getOutputJson());
  }

  @Test
  void cancel_otherJobId_isIgnoredAndJobCompletes() throws Exception {
    runner.offer(List.of(job("job-2", "hold", "{\"ms\": 300}")));
    awaitStarted("job-2");

    runner.cancel("job-1");
    runner.cancel("job-3");
    runner.cancel("");
    JobResult result = awaitResult();

    assertEquals("job-2", result.getJobId());
    assertEquals(JobResult.OutcomeCase.OUTPUT_JSON, result.getOutcomeCase());
    assertEquals("{\"slept_ms\":300}", result.getOutputJson());
  }

  @Test
  void offer_handlerLeavesThreadInterrupted_interruptDoesNotLeakPastTheJob() throws Exception {
    assertEquals("true", run("job-1", "self_interrupt", "null").getOutputJson());
    JobResult next = run("job-2", "hold", "{\"ms\": 50}");

    assertEquals("{\"slept_ms\":50}", next.getOutputJson());
    assertEquals(false, interruptedAtFinish.poll(), "job-1's result was sent from an interrupted thread");
    assertEquals(false, interruptedAtFinish.poll(), "job-2's result was sent from an interrupted thread");
  }

  @Test
  void cancel_noJobRunning_isIgnored() throws Exception {
    runner.cancel("job-1");

    assertEquals("1", run("job-1", "echo", "1").getOutputJson());
  }

  @Test
  void cancel_jobOfferedButNotYetTaken_resultIsCancelled() throws Exception {
    JobRunner late = new JobRunner(TestRegistry.load(dir.resolve("late"), false, HoldHandler.class), MAX_OUTPUT_BYTES, LogEnd.UNKNOWN, events);
    late.offer(List.of(job("job-1", "hold", "{\"ms\": 60000}")));

    late.cancel("job-1");
    late.start();

    assertTrue(awaitResult().getCancelled());
  }

  @Test
  void reportProgress_burstOfReports_firstAndCompletionDeliveredClamped() throws Exception {
    JobResult result = run("job-1", "progress", "null");
    long gapNanos = Json.parse(result.getOutputJson()).path("gap_nanos").asLong();

    Progress first = progress.poll();
    assertNotNull(first);
    assertEquals("job-1", first.jobId());
    assertEquals(0.25, first.progress().getFraction());
    assertEquals("a quarter", first.progress().getMessage());

    // Only when the second report came within the merge interval is it certain to be dropped.
    assumeTrue(gapNanos < MILLISECONDS.toNanos(50), "reports too far apart: " + gapNanos + " ns");
    Progress last = progress.poll();
    assertNotNull(last);
    assertEquals(1.0, last.progress().getFraction());
    assertEquals("", last.progress().getMessage());
    assertNull(progress.poll());
  }

  private static ExecuteJob job(String id, String handler, String input) {
    return ExecuteJob.newBuilder().setJobId(id).setHandler(handler).setInputJson(input).build();
  }

  /** Offers a job to the idle runner and waits for its result. */
  private JobResult run(String id, String handler, String input) throws InterruptedException {
    runner.offer(List.of(job(id, handler, input)));
    JobResult result = awaitResult();
    assertEquals(id, result.getJobId());
    return result;
  }

  private JobResult awaitResult() throws InterruptedException {
    JobResult result = results.poll(TIMEOUT_SECONDS, SECONDS);
    assertNotNull(result, "no result within " + TIMEOUT_SECONDS + " s");
    return result;
  }

  /** Waits for the hold handler's "started" report: from then on the job is running, not queued. */
  private void awaitStarted(String jobId) throws InterruptedException {
    Progress started = progress.poll(TIMEOUT_SECONDS, SECONDS);
    assertNotNull(started, jobId + " did not start within " + TIMEOUT_SECONDS + " s");
    assertEquals(jobId, started.jobId());
    assertEquals("started", started.progress().getMessage());
  }
}
