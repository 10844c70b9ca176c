package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.RunningService;
import dev.offload.testing.Signals;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SIGINT, SIGTERM and SIGHUP on {@code offload batch} cancel every job it started, running or
 * queued, then it exits 128 + the signal's number: as {@code run} does (see {@link RunInterruptIT}).
 */
@ExtendWith(NoLeftoverProcesses.class)
class BatchInterruptIT {

  private static final int JOBS = 3;

  @TempDir Path dir;

  @ParameterizedTest(name = "SIG{0}: exit {1}")
  @CsvSource({"INT, 130", "TERM, 143", "HUP, 129"})
  void signal_cancelsEveryJobOfTheBatch_andExits128PlusItsNumber(String signal, int exitCode) throws Exception {
    Path jobs = Files.write(dir.resolve("jobs.jsonl"), Collections.nCopies(JOBS, "{\"handler\": \"sleep\", \"input\": {\"ms\": 60000}}"));
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      Process batch = new ProcessBuilder(OffloadProcess.command(List.of(),
          "batch", jobs.toString(), "--server", service.target(), "--progress", "never"))
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      // One worker: one job runs, the others wait in the queue.
      Await.until("the batch's jobs are in", Duration.ofSeconds(30), () -> service.client().wire().list(null).size() == JOBS
          && service.client().wire().list(JobState.RUNNING).size() == 1);

      Signals.send(signal, batch.pid());

      assertTrue(batch.waitFor(20, TimeUnit.SECONDS), "batch exited");
      assertEquals(exitCode, batch.exitValue());
      for (Job job : service.client().wire().list(null)) {
        assertEquals(JobState.CANCELLED, service.client().wire().watch(job.getId(), e -> {}).getState(), job.getId());
      }
    }
  }
}
