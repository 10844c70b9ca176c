package dev.offload.supervisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.testing.Await;
import dev.offload.supervisor.testing.NoLeftoverProcesses;
import dev.offload.supervisor.testing.OffloadProcess;
import dev.offload.supervisor.testing.RunningService;
import dev.offload.supervisor.testing.Signals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Ctrl-C on {@code offload run} cancels its job, then exits 130; with --detach the job runs on. */
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
    Await.until("the run's job is running", Duration.ofSeconds(30), () -> !service.client().list(JobState.RUNNING).isEmpty());
    return service.client().list(JobState.RUNNING).getFirst();
  }

  @Test
  void ctrlC_cancelsTheJobAndExits130() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      Process run = startRun(service);
      Job job = awaitRunningJob(service);
      Signals.send("INT", run.pid());
      assertTrue(run.waitFor(20, TimeUnit.SECONDS), "run exited");
      assertEquals(130, run.exitValue());
      assertEquals(JobState.CANCELLED, service.client().watch(job.getId(), e -> {}).getState());
    }
  }

  @Test
  void ctrlC_withDetach_leavesTheJobRunning() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      Process run = startRun(service, "--detach");
      Job job = awaitRunningJob(service);
      Signals.send("INT", run.pid());
      assertTrue(run.waitFor(20, TimeUnit.SECONDS), "run exited");
      assertEquals(130, run.exitValue());
      assertEquals(JobState.RUNNING, service.client().get(job.getId()).getState());
      service.client().cancel(job.getId());
    }
  }
}
