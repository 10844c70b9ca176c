package dev.offload.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.client.InvalidInputException;
import dev.offload.client.JobCancelledException;
import dev.offload.client.JobFailedException;
import dev.offload.client.JobHandle;
import dev.offload.client.JobOptions;
import dev.offload.client.JobState;
import dev.offload.client.JobTimedOutException;
import dev.offload.client.OffloadException;
import dev.offload.client.UnknownHandlerException;
import dev.offload.supervisor.ProcessPoolExample.Prime;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The Java API against real workers: typed and raw jobs, failures, cancellation, interrupts. */
@ExtendWith(NoLeftoverProcesses.class)
class ProcessPoolIT {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  @Test
  void readmeExample_checksTheSeedsPrimesFromVirtualThreads() throws Exception {
    List<Prime> results = ProcessPoolExample.checkPrimes(List.of(9999999999999917L, 9999999999999999L, 2L));
    assertEquals(List.of(new Prime(9999999999999917L, true), new Prime(9999999999999999L, false), new Prime(2, true)), results);
  }

  @Test
  void processPool_typedAndRawJobs_failuresAreTypedAndCloseLeavesNoProcess() throws Exception {
    try (ProcessPool pool = ProcessPool.start(RunningService.config(1))) {
      assertEquals(new Prime(7, true), pool.run("is_prime", 7, Prime.class));
      assertEquals("[1,2]", pool.runJson("echo", "[1,2]"));
      assertEquals(3, pool.run("echo", List.of(1, 2, 3), JsonNode.class).size());
      assertTrue(ProcessPoolExample.followOneJob(pool).endsWith("Prime[n=9999999999999917, prime=true]"));
      assertEquals("[1]", ProcessPoolExample.echo(pool, "[1]"));

      JobHandle<Prime> failing = pool.submit("is_prime", "x", Prime.class);
      JobFailedException failed = assertThrows(JobFailedException.class, failing::get);
      assertEquals("HANDLER_ERROR", failed.code());
      assertEquals(failing.id(), failed.jobId());
      assertEquals("java.lang.IllegalArgumentException", failed.handlerExceptionClass().orElseThrow());
      assertTrue(failed.handlerStackTrace().contains("at dev.offload.worker.handlers.IsPrimeHandler"), failed.handlerStackTrace());
      assertEquals(JobState.FAILED, failing.state());
      assertTrue(failing.future().isCompletedExceptionally());

      UnknownHandlerException unknown = assertThrows(UnknownHandlerException.class, () -> pool.runJson("nope", "1"));
      assertEquals("nope", unknown.handler());
      assertTrue(unknown.knownHandlers().contains("is_prime"), unknown.knownHandlers().toString());
      assertTrue(unknown.getMessage().contains("unknown handler 'nope'"), unknown.getMessage());
      assertTrue(ProcessPoolExample.echo(pool, "{not json").startsWith("refused: "));
      assertThrows(InvalidInputException.class, () -> pool.submitJson("echo", "{not json"));

      JobHandle<String> sleeping = pool.submitJson("sleep", "{\"ms\": 60000}");
      Await.until("the job running", WAIT, () -> sleeping.state() == JobState.RUNNING);
      assertTrue(sleeping.cancel());
      JobCancelledException cancelled = assertThrows(JobCancelledException.class, sleeping::get);
      assertEquals("CANCELLED", cancelled.code());
      assertEquals(JobState.CANCELLED, sleeping.state());
      assertTrue(sleeping.future().isCancelled());
    }
  }

  /** What shutdownNow on a virtual-thread executor (and so a failing StructuredTaskScope) does. */
  @Test
  void interruptingAWaitingThread_cancelsItsJobOnTheService() throws Exception {
    try (ProcessPool pool = ProcessPool.start(RunningService.config(1))) {
      AtomicBoolean interruptedAndCleared = new AtomicBoolean();
      ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor();
      Future<String> task = tasks.submit(() -> {
        try {
          return pool.runJson("sleep", "{\"ms\": 60000}");
        } catch (InterruptedException e) {
          interruptedAndCleared.set(!Thread.currentThread().isInterrupted());
          throw e;
        }
      });
      Await.until("the job running", WAIT, () -> !pool.client().wire().list(dev.offload.proto.v1.JobState.RUNNING).isEmpty());
      String id = pool.client().wire().list(dev.offload.proto.v1.JobState.RUNNING).getFirst().getId();

      tasks.shutdownNow();
      assertTrue(tasks.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS), "the task ended");
      ExecutionException e = assertThrows(ExecutionException.class, task::get);
      assertInstanceOf(InterruptedException.class, e.getCause());
      assertTrue(interruptedAndCleared.get(), "InterruptedException thrown, with the status cleared as its convention has it");
      // The task returned once the service had taken the cancel: the job ends CANCELLED, not SUCCEEDED.
      Await.until(id + " cancelled", WAIT,
          () -> pool.client().wire().get(id).getState() == dev.offload.proto.v1.JobState.CANCELLED);
    }
  }

  @Test
  void deadlineOption_stopsTheJob_whileADerivedFuturesTimeoutDoesNot() throws Exception {
    try (ProcessPool pool = ProcessPool.start(RunningService.config(1))) {
      JobHandle<String> bounded = pool.submitJson("sleep", "{\"ms\": 60000}", JobOptions.defaults().withDeadline(Duration.ofMillis(500)));
      JobTimedOutException timedOut = assertThrows(JobTimedOutException.class, () -> bounded.get(WAIT));
      assertEquals("DEADLINE_EXCEEDED", timedOut.code());
      assertEquals(dev.offload.proto.v1.JobState.TIMED_OUT, pool.client().wire().get(bounded.id()).getState());

      JobHandle<String> unbounded = pool.submitJson("sleep", "{\"ms\": 60000}");
      CompletableFuture<String> derived = unbounded.future().thenApply(output -> output).orTimeout(200, TimeUnit.MILLISECONDS);
      ExecutionException expired = assertThrows(ExecutionException.class, derived::get);
      assertInstanceOf(TimeoutException.class, expired.getCause());
      assertThrows(TimeoutException.class, () -> unbounded.get(Duration.ofMillis(50)));
      assertFalse(unbounded.isDone(), "neither a derived future's timeout nor a timed get cancels the job");
      Await.until("the job running", WAIT, () -> unbounded.state() == JobState.RUNNING);

      unbounded.future().orTimeout(100, TimeUnit.MILLISECONDS); // the handle's own future: its timeout cancels
      Await.until(unbounded.id() + " cancelled on the service", WAIT,
          () -> pool.client().wire().get(unbounded.id()).getState() == dev.offload.proto.v1.JobState.CANCELLED);
      assertInstanceOf(TimeoutException.class, assertThrows(OffloadException.class, unbounded::get).getCause());
    }
  }

  @Test
  void client_ofARunningService_runsTypedAndRawJobs() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      assertEquals("[1,2]", service.client().submitJson("echo", "[1,2]").future().get(30, TimeUnit.SECONDS));
      assertEquals(new Prime(2, true), service.client().run("is_prime", 2, Prime.class));
    }
  }
}
