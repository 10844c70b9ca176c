package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.client.OffloadClient;
import dev.offload.client.ServerTarget;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import dev.offload.testing.Signals;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos for the supervisor itself, which only a separate {@code serve} process allows (ChaosIT's
 * supervisor lives in the test JVM): SIGSTOP and SIGCONT of the service while jobs run, as a
 * laptop's suspend, a frozen VM or a long GC pause would do, must cost no healthy worker, while a
 * worker that is itself stopped is still caught by the health checks (defaults: a ping every 2 s,
 * 6 s of silence allowed).
 */
@ExtendWith(NoLeftoverProcesses.class)
class SupervisorPauseIT {

  /** Longer than the 6 s a worker may stay silent: before the fix, every worker was killed after it. */
  private static final Duration PAUSE = Duration.ofSeconds(8);
  private static final int PAUSES = 2;

  @TempDir Path dir;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard
  void pausesOfTheSupervisor_duringJobs_killNoHealthyWorker() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2");
        OffloadClient client = OffloadClient.connect(ServerTarget.parse(serve.target()));
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Long> pids = serve.workerPids();
      AtomicBoolean stop = new AtomicBoolean();
      Map<String, Job> ended = new ConcurrentHashMap<>();
      AtomicInteger done = new AtomicInteger();
      List<Future<?>> runners = new ArrayList<>();
      for (int c = 0; c < 3; c++) {
        runners.add(clients.submit(() -> {
          while (!stop.get()) {
            Job end = client.wire().run(SubmitJobRequest.newBuilder().setHandler("sleep").setInputJson("{\"ms\": 150}").build(), e -> {});
            ended.put(end.getId(), end);
            done.incrementAndGet();
          }
          return null;
        }));
      }
      try {
        for (int i = 0; i < PAUSES; i++) {
          int before = done.get();
          Await.until("jobs to run", Duration.ofSeconds(30), () -> done.get() >= before + 5);
          Signals.send("STOP", serve.pid());
          try {
            TimeUnit.MILLISECONDS.sleep(PAUSE.toMillis()); // the pause the test is about, not a wait for an outcome
          } finally {
            Signals.send("CONT", serve.pid());
          }
          int resumed = done.get();
          Await.until("jobs to run again after the pause", Duration.ofSeconds(30), () -> done.get() >= resumed + 5);
        }
        // The health checks ran after the last pause: the service says it noticed the pause, or
        // (before the fix) some worker has been replaced.
        Await.until("the health checks to judge the pause", Duration.ofSeconds(30),
            () -> serve.stderr().split("was not running for about", -1).length - 1 >= PAUSES || restarts(serve.stats()) > 0);
      } finally {
        stop.set(true);
      }
      for (Future<?> runner : runners) {
        runner.get(60, TimeUnit.SECONDS);
      }

      JsonNode stats = serve.stats();
      assertEquals(0, restarts(stats), "a pause of the supervisor cost workers: " + stats.get("workers"));
      assertEquals(pids, serve.workerPids(), "the same worker processes serve on");
      List<Job> notSucceeded = ended.values().stream().filter(j -> j.getState() != JobState.SUCCEEDED).toList();
      assertTrue(notSucceeded.isEmpty(), notSucceeded.size() + " of " + ended.size() + " jobs did not succeed: " + notSucceeded);
      System.out.printf("supervisor paused %d times for %d s: %d jobs, all SUCCEEDED, workers %s kept%n", PAUSES,
          PAUSE.toSeconds(), ended.size(), pids);
      serve.shutdown();
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard
  void sigstopOfAWorker_isStillCaughtAndReplaced() throws Exception {
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--workers", "2")) {
      List<Long> pids = serve.workerPids();
      long stopped = pids.getFirst();
      Signals.send("STOP", stopped);
      long start = System.nanoTime();
      long caught;
      try {
        // Caught: killed, and its slot starting a replacement. With the defaults that is 7-9 s;
        // the bound leaves room for a loaded machine.
        Await.until("the stopped worker to be caught", Duration.ofSeconds(15), () -> serve.workerPids().getFirst() != stopped);
        caught = System.nanoTime();
        Await.until("the stopped worker to be replaced", Duration.ofSeconds(30), () -> serve.workerPids().getFirst() != 0);
      } finally {
        ProcessHandle.of(stopped).ifPresent(p -> {
          try {
            Signals.send("CONT", stopped); // should it still be there, it must be able to exit
          } catch (Exception gone) {
            // Killed meanwhile.
          }
        });
      }
      long caughtMillis = Duration.ofNanos(caught - start).toMillis();
      long replacedMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
      JsonNode slot = serve.stats().get("workers").get(0);
      assertEquals(1, slot.get("restarts").asInt(), slot.toString());
      assertTrue(slot.get("last_restart_reason").asText().contains("answered no health check"), slot.toString());
      assertEquals(pids.get(1), serve.workerPids().get(1), "the other worker serves on");
      assertNotEquals(stopped, slot.get("pid").asLong());
      System.out.printf("a SIGSTOPped worker was caught %d ms after the signal, replaced after %d ms%n", caughtMillis, replacedMillis);
      serve.shutdown();
    }
  }

  private static int restarts(JsonNode stats) {
    int sum = 0;
    for (JsonNode worker : stats.get("workers")) {
      sum += worker.get("restarts").asInt();
    }
    return sum;
  }
}
