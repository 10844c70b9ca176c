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
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SIGINT (Ctrl-C), SIGTERM ({@code kill}, {@code timeout}) and SIGHUP on {@code offload run}
 * cancel its job, then it exits 128 + the signal's number; with --detach the job runs on.
 */
@ExtendWith(NoLeftoverProcesses.class)
class RunInterruptIT {

  @TempDir Path dir;

  private Process startRun(RunningService service, String... extra) throws Exception {
    List<String> args = new java.util.ArrayList<>(List.of("run", "sleep", "{\"ms\": 60000}", "--server", service.target()));
    args.addAll(List.of(extra));
    List<String> command = OffloadProcess.command(List.of(), args.toArray(String[]::new));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  private static Job awaitRunningJob(RunningService service) throws InterruptedException {
    Await.until("the run's job is running", Duration.ofSeconds(30), () -> !service.client().wire().list(JobState.RUNNING).isEmpty());
    return service.client().wire().list(JobState.RUNNING).getFirst();
  }

  @ParameterizedTest(name = "SIG{0}: exit {1}")
  @CsvSource({"INT, 130", "TERM, 143", "HUP, 129"})
  void signal_cancelsTheJob_andExits128PlusItsNumber(String signal, int exitCode) throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      Process run = startRun(service);
      Job job = awaitRunningJob(service);
      Signals.send(signal, run.pid());
      assertTrue(run.waitFor(20, TimeUnit.SECONDS), "run exited");
      assertEquals(exitCode, run.exitValue());
      assertEquals(JobState.CANCELLED, service.client().wire().watch(job.getId(), e -> {}).getState());
    }
  }

  /** timeout(1) signals the command and then its process group: one request, not a second "now". */
  @ParameterizedTest(name = "SIG{0} twice: exit {1}")
  @CsvSource({"TERM, 143", "HUP, 129"})
  void signalSentTwiceAtOnce_asTimeoutDoes_stillCancelsTheJob(String signal, int exitCode) throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      Process run = startRun(service);
      Job job = awaitRunningJob(service);
      Signals.sendTwiceAtOnce(signal, run.pid());
      assertTrue(run.waitFor(20, TimeUnit.SECONDS), "run exited");
      assertEquals(exitCode, run.exitValue());
      assertEquals(JobState.CANCELLED, service.client().wire().watch(job.getId(), e -> {}).getState());
    }
  }

  @ParameterizedTest(name = "SIG{0}: exit {1}")
  @CsvSource({"INT, 130", "TERM, 143", "HUP, 129"})
  void signal_withDetach_leavesTheJobRunning(String signal, int exitCode) throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      Process run = startRun(service, "--detach");
      Job job = awaitRunningJob(service);
      Signals.send(signal, run.pid());
      assertTrue(run.waitFor(20, TimeUnit.SECONDS), "run exited");
      assertEquals(exitCode, run.exitValue());
      assertEquals(JobState.RUNNING, service.client().wire().get(job.getId()).getState());
      service.client().wire().cancel(job.getId());
    }
  }
}
