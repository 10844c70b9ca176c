package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.client.OffloadClient;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.sdk.Json;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.testing.SmallDisk;
import dev.offload.wire.RefusalTrailers;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job store on a disk that fills up while the service runs: a real {@code offload serve}, a real
 * SQLite file on a small filesystem of its own (a tmpfs, else a loop-device image, else the test
 * is skipped), filled to the last byte and then freed.
 */
@ExtendWith(NoLeftoverProcesses.class)
class FullDiskIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  /** How long the running job runs: long enough to span filling the disk and the refusals, under load too. */
  private static final int SLEEP_MS = 8_000;

  @TempDir Path dir;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void fullDisk_refusesNewJobs_runningJobFinishes_itsResultDeliveredAndRecordedOnceThereIsRoom() throws Exception {
    String sleeper;
    Path db;
    Set<String> expected = new HashSet<>(); // "ID STATE" of every job the store must keep
    try (SmallDisk disk = SmallDisk.mount(dir, 4)) {
      db = disk.path().resolve("jobs.db");
      try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1", "--store", "sqlite:" + db);
          OffloadClient client = OffloadClient.connect(serve.target())) {
        // A run client waits on a job that runs across the outage.
        CompletableFuture<String> id = new CompletableFuture<>();
        CompletableFuture<Job> result = new CompletableFuture<>();
        Thread.ofVirtual().name("run-sleep").start(() -> {
          try {
            result.complete(client.wire().run(job("sleep", "{\"ms\": " + SLEEP_MS + "}"), e -> id.complete(e.getJob().getId())));
          } catch (RuntimeException e) {
            result.completeExceptionally(e);
          }
        });
        sleeper = id.get(30, TimeUnit.SECONDS);
        Await.until(sleeper + " to run", WAIT, () -> serve.state(sleeper).equals("RUNNING"));

        disk.fill();
        StatusRuntimeException refusal = null;
        // The WAL's blocks that the file has already (SQLite writes it again from its start after a
        // checkpoint) may take a few more: those jobs are committed, so accepted, and must be kept.
        Set<String> acceptedOnAFullDisk = new HashSet<>();
        for (int i = 0; i < 50 && refusal == null; i++) {
          try {
            acceptedOnAFullDisk.add(client.wire().submit(job("echo", "{\"i\": " + i + "}")).getId());
          } catch (StatusRuntimeException e) {
            refusal = e;
          }
        }
        assertNotNull(refusal, "a submission to a store on a full disk is refused");
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, refusal.getStatus().getCode(), refusal.toString());
        String why = refusal.getStatus().getDescription();
        assertTrue(why.contains("the job store " + db) && why.contains("disk is full") && why.contains("free space")
            && why.contains("the job was not accepted"), why);
        Metadata trailers = Status.trailersFromThrowable(refusal);
        assertEquals(RefusalTrailers.STORE_CANNOT_WRITE, trailers.get(RefusalTrailers.REASON));
        assertFalse(result.isDone(), "the sleep ended before the disk was full: this machine is too slow for "
            + SLEEP_MS + " ms to span the test's steps");
        expected.add(sleeper + " SUCCEEDED");
        acceptedOnAFullDisk.forEach(accepted -> expected.add(accepted + " SUCCEEDED"));

        // The job finishes on its worker; its end is held in memory, not delivered, not shown.
        Await.until("the sleep's worker to be free, and its end held", WAIT, () -> {
          JsonNode stats = serve.stats();
          return stats.get("workers").get(0).get("jobs_done").asInt() >= 1 && stats.get("store").get("held_writes").asInt() >= 1;
        });
        JsonNode stats = serve.stats();
        assertTrue(stats.get("store").get("failure").asText().contains("disk is full"), stats.toString());
        assertEquals("RUNNING", serve.state(sleeper), "a held end is not shown: status shows what a restart would find");
        assertFalse(result.isDone(), "a held end is not delivered");
        Cli.Result text = Cli.run("stats", "--server", serve.target());
        assertTrue(text.out().contains("THE STORE CANNOT WRITE"), text.out());
        Cli.Result cli = Cli.run("submit", "echo", "1", "--server", serve.target());
        assertEquals(3, cli.exitCode(), cli.err());
        assertTrue(cli.err().contains("the job store " + db) && cli.err().contains("disk is full"), cli.err());

        disk.free();
        Job finished = result.get(30, TimeUnit.SECONDS);
        assertEquals(JobState.SUCCEEDED, finished.getState(), finished.toString());
        assertEquals(Json.parse("{\"slept_ms\": " + SLEEP_MS + "}"), Json.parse(finished.getOutputJson()));
        Await.until("the store to record again", WAIT, () -> serve.stats().get("store").get("failure").isNull());
        assertEquals(0, serve.stats().get("store").get("held_writes").asInt());
        Job after = client.wire().run(job("echo", "{\"after\": true}"), e -> {});
        assertEquals(JobState.SUCCEEDED, after.getState());
        expected.add(after.getId() + " SUCCEEDED");

        Await.until("the log to say the store records again", WAIT, () -> serve.stderrContains("records again"));
        long failing = serve.stderrLines().stream().filter(l -> l.contains("cannot record jobs: its disk is full")
            && l.contains("logged once")).count();
        long recovered = serve.stderrLines().stream().filter(l -> l.contains("records again")).count();
        assertEquals(1, failing, "the outage is logged once, not per retry:\n" + serve.stderr());
        assertEquals(1, recovered, serve.stderr());
        serve.shutdown();
      }

      // What the store has after a restart: the held end was written, the refused jobs were not.
      try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "1", "--store", "sqlite:" + db)) {
        Cli.Result r = Cli.run("result", sleeper, "--server", serve.target());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(Json.parse("{\"slept_ms\": " + SLEEP_MS + "}"), Json.parse(r.out()));
        Cli.Result list = Cli.run("list", "--json", "--server", serve.target());
        assertEquals(0, list.exitCode(), list.err());
        Set<String> states = java.util.stream.StreamSupport.stream(Json.parse(list.out()).spliterator(), false)
            .map(j -> j.get("id").asText() + " " + j.get("state").asText()).collect(Collectors.toSet());
        assertEquals(expected, states, "the sleep, the jobs accepted before the first refusal, the echo after the outage, and"
            + " no refused job");
        serve.shutdown();
      }
    }
  }

  private static SubmitJobRequest job(String handler, String input) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(input).build();
  }
}
