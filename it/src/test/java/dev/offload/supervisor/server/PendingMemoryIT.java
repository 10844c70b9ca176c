package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.cli.ExitCodes;
import dev.offload.client.WireClient;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.sdk.Json;
import dev.offload.supervisor.job.PendingInputs;
import dev.offload.supervisor.store.Durability;
import dev.offload.supervisor.store.StoreUrl;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --pending-memory}: the inputs of jobs accepted and not yet ended hold at most the budget.
 * A submission past it is refused with RESOURCE_EXHAUSTED naming the flag; a batch stream waits
 * for room instead, and every line runs; a service that stops keeping its queue lets a waiting batch end.
 */
@ExtendWith(NoLeftoverProcesses.class)
class PendingMemoryIT {

  /** Each big input: {@link #BUDGET} holds two of them, not three. */
  private static final int INPUT_CHARS = 100_000;
  private static final long BUDGET = 250_000;
  private static final String PAD = "x".repeat(INPUT_CHARS);

  @TempDir Path dir;

  private static SubmitJobRequest job(String handler, String inputJson) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(inputJson).build();
  }

  private static SubmitJobRequest bigEcho() {
    return job("echo", "\"" + PAD + "\"");
  }

  private static SubmitJobRequest bigSleep() {
    return job("sleep", "{\"ms\": 60000, \"pad\": \"" + PAD + "\"}");
  }

  private RunningService start() throws Exception {
    return RunningService.start(RunningService.config(1).withLimits(Limits.defaults().withMaxPendingBytes(BUDGET)), dir);
  }

  @Test
  void aSubmissionPastTheBudget_isRefusedNamingTheFlag_andTakenOnceJobsHaveEnded() throws Exception {
    try (RunningService service = start()) {
      WireClient wire = service.client().wire();
      Job sleeping = wire.submit(bigSleep());
      Job queued = wire.submit(bigEcho());

      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> wire.submit(bigEcho()));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
      assertTrue(refused.getStatus().getDescription().contains("--pending-memory"), refused.getStatus().getDescription());
      Cli.Result cli = service.cli("submit", "echo", "\"" + PAD + "\"");
      assertEquals(ExitCodes.UNAVAILABLE, cli.exitCode(), cli.err());
      assertTrue(cli.err().contains("--pending-memory"), cli.err());
      Job small = wire.submit(job("echo", "1")); // fits beside them
      assertEquals(3, service.supervisor().jobs().list(null).size(), "the refused jobs left nothing behind");

      wire.cancel(sleeping.getId());
      for (Job ending : new Job[] {sleeping, queued, small}) {
        wire.watch(ending.getId(), event -> {});
      }
      // Given back as each job's end is published, just after its watchers are told.
      Await.until("every ended job to give its input's bytes back", Duration.ofSeconds(10),
          () -> service.supervisor().pendingInputs().held() == 0);
      Job later = wire.submit(bigEcho());
      assertEquals(JobState.SUCCEEDED, wire.watch(later.getId(), event -> {}).getState());
    }
  }

  @Test
  void aBatchPastTheBudget_waitsForRoom_andEveryLineRuns_holdingNoMoreThanTheBudget() throws Exception {
    int lines = 40;
    Path jobs = dir.resolve("big.jsonl");
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      for (int i = 1; i <= lines; i++) {
        out.write("{\"id\": \"L" + i + "\", \"handler\": \"echo\", \"input\": \"" + PAD + "\"}\n");
      }
    }
    try (RunningService service = start()) {
      CompletableFuture<Cli.Result> batch = CompletableFuture.supplyAsync(() -> service.cli("batch", jobs.toString(), "--progress", "never"));
      // Sampled while it runs: without the budget the batch's window of 256 would put every line in the queue at once.
      AtomicLong mostHeld = new AtomicLong();
      AtomicLong mostNotEnded = new AtomicLong();
      AtomicLong mostWaiting = new AtomicLong();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (!batch.isDone()) {
        assertTrue(System.nanoTime() < deadline, "the batch did not end within 3 minutes");
        mostHeld.accumulateAndGet(service.supervisor().pendingInputs().held(), Math::max);
        mostWaiting.accumulateAndGet(service.supervisor().pendingInputs().waiting(), Math::max);
        var counts = service.supervisor().jobs().countByState();
        mostNotEnded.accumulateAndGet(counts.getOrDefault(JobState.QUEUED, 0L) + counts.getOrDefault(JobState.RUNNING, 0L), Math::max);
        TimeUnit.MILLISECONDS.sleep(1); // the sampling cadence, not a wait for an outcome
      }
      Cli.Result result = batch.get(3, TimeUnit.MINUTES);

      assertEquals(ExitCodes.OK, result.exitCode(), result.err());
      Map<String, String> states = new HashMap<>();
      result.out().lines().map(Json::parse).forEach(n -> states.put(n.get("id").asText(), n.get("state").asText()));
      assertEquals(lines, states.size(), states.keySet().toString());
      assertTrue(states.values().stream().allMatch("SUCCEEDED"::equals), states.toString());
      assertTrue(mostHeld.get() <= BUDGET, "held " + mostHeld + " bytes of input, past the budget of " + BUDGET);
      assertTrue(mostNotEnded.get() <= 2, mostNotEnded + " jobs queued or running at once; the budget holds two inputs");
      assertTrue(mostHeld.get() > 0, "the sampling saw the batch's jobs");
      assertEquals(1, mostWaiting.get(), "the stream's line in hand waited for room, and it alone: no more lines were read");
    }
  }

  /**
   * Jobs an earlier service kept in the store hold their inputs' room from the start, whatever the
   * budget: new submissions wait for them to drain rather than pile up beside them.
   */
  @Test
  void jobsKeptByAnEarlierService_areCountedAtStart_andNewOnesFindNoRoomBesideThem() throws Exception {
    StoreUrl store = new StoreUrl.Sqlite(dir.resolve("jobs.db"));
    try (RunningService earlier = RunningService.start(RunningService.config(1).withStore(store, Durability.PROCESS), dir)) {
      for (int i = 0; i < 3; i++) {
        earlier.client().wire().submit(bigSleep()); // one runs; two wait in the queue, kept at the stop
      }
    }
    try (RunningService service = RunningService.start(RunningService.config(1).withStore(store, Durability.PROCESS)
        .withLimits(Limits.defaults().withMaxPendingBytes(BUDGET)), dir)) {
      List<Job> kept = service.client().wire().list(null).stream()
          .filter(j -> j.getState() == JobState.QUEUED || j.getState() == JobState.RUNNING).toList();
      assertEquals(2, kept.size(), "the two queued jobs came back: " + kept);
      long expected = kept.stream().mapToLong(j -> PendingInputs.bytesOf(j.getInputJson())).sum();
      assertTrue(expected >= 2 * INPUT_CHARS && expected > BUDGET - INPUT_CHARS, "the test's premise: no room for one more beside them");
      assertEquals(expected, service.supervisor().pendingInputs().held(), "their inputs are counted as the service starts");

      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(bigEcho()));
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
      assertTrue(refused.getStatus().getDescription().contains("--pending-memory"), refused.getStatus().getDescription());
    }
  }

  /**
   * With a store, a stopping service keeps its queued jobs for the next start: their inputs are
   * never given back here, so a line waiting for room would wait for ever unless the stop lets it
   * through (to be refused).
   */
  @Test
  void aBatchWaitingForRoom_endsWhenTheServiceStopsKeepingItsQueue() throws Exception {
    Path jobs = dir.resolve("stopped.jsonl");
    String twice = PAD + PAD;
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      out.write("{\"id\": \"L1\", \"handler\": \"sleep\", \"input\": {\"ms\": 60000}}\n");
      out.write("{\"id\": \"L2\", \"handler\": \"echo\", \"input\": \"" + twice + "\"}\n");
      for (int i = 3; i <= 6; i++) {
        out.write("{\"id\": \"L" + i + "\", \"handler\": \"echo\", \"input\": \"" + PAD + "\"}\n");
      }
    }
    RunningService service = RunningService.start(RunningService.config(1)
        .withStore(new StoreUrl.Sqlite(dir.resolve("jobs.db")), Durability.PROCESS)
        .withLimits(Limits.defaults().withMaxPendingBytes(BUDGET)), dir);
    try {
      CompletableFuture<Cli.Result> batch = CompletableFuture.supplyAsync(() -> service.cli("batch", jobs.toString(), "--progress", "never"));
      // L1 runs, L2 is queued, L3 waits for room: L2 alone, kept at the stop, leaves none for it.
      Await.until("L1 and L2 held, L3 waiting", Duration.ofSeconds(30), () -> service.supervisor().jobs().list(null).size() == 2
          && service.supervisor().pendingInputs().waiting() == 1);

      service.supervisor().shutdown(Duration.ZERO).get(60, TimeUnit.SECONDS);
      Cli.Result result = batch.get(60, TimeUnit.SECONDS);

      assertEquals(ExitCodes.UNAVAILABLE, result.exitCode(), result.err());
      assertTrue(result.err().contains("j-2"), "the kept job is named: " + result.err());
      Map<String, Integer> answers = new HashMap<>();
      for (String line : result.out().lines().toList()) {
        JsonNode answer = Json.parse(line);
        answers.merge(answer.get("id").asText(), 1, Integer::sum);
        assertTrue(!answer.get("state").asText().equals("SUCCEEDED"), "nothing could run to its end: " + line);
      }
      answers.forEach((id, n) -> assertEquals(1, n, id + " answered once"));
    } finally {
      service.close();
    }
  }
}
