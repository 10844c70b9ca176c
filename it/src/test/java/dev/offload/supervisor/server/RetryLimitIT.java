package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.sdk.Json;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs that cost workers: retries are bounded by {@code --max-retries} (10 by default), a job
 * that kills its worker on every attempt still ends POISON, and a cancelled job whose worker died
 * by itself is not said to have outlived the cancel grace.
 */
@ExtendWith(NoLeftoverProcesses.class)
class RetryLimitIT {

  /** Long, so that nothing in these tests can be blamed on it by a slow machine. */
  private static final Duration CANCEL_GRACE = Duration.ofSeconds(30);

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(1)
        .withPool(RunningService.pool(1).cancelGrace(CANCEL_GRACE).build()), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  private static SubmitJobRequest crash(int retries) {
    return SubmitJobRequest.newBuilder().setHandler("crash").setInputJson("{\"mode\": \"exit\"}").setRetries(retries).build();
  }

  @Test
  void retriesAboveTheLimit_areRefusedNamingTheFlag() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(crash(Integer.MAX_VALUE)));

    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("--max-retries"), e.getStatus().getDescription());

    Cli.Result cli = Cli.run("submit", "echo", "1", "--retries", "11", "--server", service.target());
    assertEquals(2, cli.exitCode(), cli.err());
    assertTrue(cli.err().contains("--max-retries"), cli.err());
    Cli.Result atTheLimit = Cli.run("run", "echo", "1", "--retries", "10", "--server", service.target());
    assertEquals(0, atTheLimit.exitCode(), atTheLimit.err());
  }

  @Test
  void batchLineAboveTheLimit_isRefusedAlone_theRestRun() throws Exception {
    Path jobs = Files.write(dir.resolve("retries.jsonl"), List.of(
        "{\"handler\": \"echo\", \"input\": 1, \"retries\": 11}",
        "{\"handler\": \"echo\", \"input\": 2, \"retries\": 10}"));

    Cli.Result r = Cli.run("batch", jobs.toString(), "--server", service.target(), "--progress", "never");

    assertEquals(1, r.exitCode(), r.err());
    Map<Long, JsonNode> byLine = new HashMap<>();
    r.out().lines().map(Json::parse).forEach(n -> byLine.put(n.get("line").asLong(), n));
    assertEquals("INVALID", byLine.get(1L).get("state").asText(), byLine.toString());
    assertEquals("INVALID_ARGUMENT", byLine.get(1L).get("error").get("code").asText());
    assertTrue(byLine.get(1L).get("error").get("message").asText().contains("--max-retries"), byLine.toString());
    assertEquals("SUCCEEDED", byLine.get(2L).get("state").asText(), byLine.toString());
  }

  @Test
  void jobKillingItsWorkerEveryTime_endsPoisonAfterItsRetries() {
    Job end = service.client().wire().run(crash(2), event -> {});

    assertEquals(JobState.FAILED, end.getState());
    assertEquals("POISON", end.getError().getCode(), end.getError().getMessage());
    assertEquals(3, end.getAttempts());
  }

  @Test
  void cancel_whoseWorkerDiesBeforeTheJobStops_saysHowItDied_andBlamesNoGrace() throws Exception {
    Job submitted = service.client().wire().submit(
        SubmitJobRequest.newBuilder().setHandler("spin").setInputJson("{\"ms\": 60000, \"ignore_cancel\": true}").build());
    Await.until(submitted.getId() + " running", Duration.ofSeconds(30),
        () -> service.client().wire().get(submitted.getId()).getState() == JobState.RUNNING);
    long pid = service.client().wire().get(submitted.getId()).getWorkerPid();

    Job asked = service.client().wire().cancel(submitted.getId()); // ignored by the handler: its worker would be killed after the grace
    assertEquals(JobState.RUNNING, asked.getState());
    ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // but it dies first, of something else
    Job end = service.client().wire().watch(submitted.getId(), event -> {});

    assertEquals(JobState.CANCELLED, end.getState());
    String message = end.getError().getMessage();
    assertFalse(message.contains("cancel grace"), message);
    assertTrue(message.contains("was killed by signal 9 (SIGKILL) before the job stopped"), message);
  }
}
