package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.client.BatchCall;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.store.Durability;
import dev.offload.supervisor.store.StoreUrl;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.wire.RefusalTrailers;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Idempotency keys end to end (SubmitJobRequest.idempotency_key): a repeated key creates nothing
 * and is answered with its job, through every rpc that submits, with SQLite (also across a
 * restart) and with memory:.
 */
@ExtendWith(NoLeftoverProcesses.class)
class IdempotencyIT {

  @TempDir Path dir;

  private RunningService sqlite(String name) throws Exception {
    var config = RunningService.config(2).withStore(new StoreUrl.Sqlite(dir.resolve("jobs.db")), Durability.PROCESS);
    return RunningService.start(config, java.nio.file.Files.createDirectories(dir.resolve(name)));
  }

  private static SubmitJobRequest job(String handler, String input, String key) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(input).setIdempotencyKey(key).build();
  }

  private static long jobsWithKey(RunningService service, String key) {
    return service.client().wire().list(null).stream().filter(j -> j.getIdempotencyKey().equals(key)).count();
  }

  @Test
  void submitAndRun_aRepeatedKey_answerWithItsJob_andRunItOnce() throws Exception {
    try (RunningService service = sqlite("a")) {
      var wire = service.client().wire();
      Job first = wire.submit(job("sleep", "{\"ms\": 300}", "k1"));
      Job again = wire.submit(job("sleep", "{\"ms\": 300}", "k1"));
      assertEquals(first.getId(), again.getId());
      assertEquals("k1", again.getIdempotencyKey());

      List<JobEvent> events = new ArrayList<>();
      Job end = wire.run(job("sleep", "{\"ms\": 300}", "k1"), events::add);
      assertEquals(first.getId(), end.getId(), "RunJob follows the job that has the key");
      assertEquals(JobState.SUCCEEDED, end.getState());
      assertEquals(1, end.getAttempts());

      Job afterEnd = wire.submit(job("sleep", "{\"ms\": 300}", "k1"));
      assertEquals(first.getId(), afterEnd.getId());
      assertEquals(JobState.SUCCEEDED, afterEnd.getState(), "a finished job answers as it is now");
      assertEquals(1, jobsWithKey(service, "k1"));

      Job fresh = wire.submit(job("sleep", "{\"ms\": 300}", "k2"));
      assertNotEquals(first.getId(), fresh.getId(), "another key, another job");
    }
  }

  @Test
  void aKeyWithAnotherHandlerOrInput_isRefused_namingTheKeyAndItsJob() throws Exception {
    try (RunningService service = sqlite("b")) {
      var wire = service.client().wire();
      Job held = wire.submit(job("echo", "1", "k"));

      for (SubmitJobRequest other : List.of(job("echo", "2", "k"), job("sleep", "1", "k"))) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> wire.submit(other));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        String message = e.getStatus().getDescription();
        assertTrue(message.contains("'k'") && message.contains(held.getId()) && message.contains("a key names one job"), message);
        assertEquals(RefusalTrailers.IDEMPOTENCY_KEY_REUSED, e.getTrailers().get(RefusalTrailers.REASON));
      }
      assertEquals(1, jobsWithKey(service, "k"), "nothing was created");
    }
  }

  @Test
  void aKeyTooLong_isRefusedAsInvalid_sayingTheLimit() throws Exception {
    try (RunningService service = sqlite("c")) {
      String key = "é".repeat(101); // 202 UTF-8 bytes, 101 characters
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> service.client().wire().submit(job("echo", "1", key)));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains("202 bytes") && e.getStatus().getDescription().contains("at most 200"),
          e.getStatus().getDescription());
      assertEquals(JobState.SUCCEEDED, service.client().wire().run(job("echo", "1", "é".repeat(100)), event -> {}).getState(),
          "200 bytes are taken");
    }
  }

  @Test
  void manySubmissionsOfOneKeyAtOnce_createOneJob_andEveryOneIsAnsweredWithIt() throws Exception {
    try (RunningService service = sqlite("d")) {
      var wire = service.client().wire();
      ExecutorService threads = Executors.newFixedThreadPool(8);
      try {
        for (int round = 0; round < 20; round++) {
          String key = "race-" + round;
          CountDownLatch go = new CountDownLatch(1);
          List<Future<Job>> answers = new ArrayList<>();
          for (int t = 0; t < 8; t++) {
            answers.add(threads.submit(() -> {
              go.await();
              return wire.submit(job("echo", "1", key));
            }));
          }
          go.countDown();
          Set<String> ids = new java.util.HashSet<>();
          for (Future<Job> answer : answers) {
            ids.add(answer.get(30, TimeUnit.SECONDS).getId());
          }
          assertEquals(1, ids.size(), key + " was answered with " + ids);
          assertEquals(1, jobsWithKey(service, key));
        }
      } finally {
        threads.shutdownNow();
      }
    }
  }

  @Test
  void batchLines_withOneKey_eachGetTheirResult_fromOneJob_andItsAcknowledgement() throws Exception {
    try (RunningService service = sqlite("e")) {
      Map<String, List<BatchResult>> byKey = new ConcurrentHashMap<>();
      BatchCall call = service.client().wire().batch(8, true, r -> byKey.computeIfAbsent(r.getKey(), k -> new ArrayList<>()).add(r));
      for (int line = 1; line <= 3; line++) {
        call.acquire();
        call.send(Integer.toString(line), job("sleep", "{\"ms\": 200}", "shared"));
      }
      call.finish();
      call.await();
      for (int line = 1; line <= 3; line++) {
        List<BatchResult> results = byKey.get(Integer.toString(line));
        String accepted = results.stream().filter(BatchResult::hasAccepted).map(BatchResult::getAccepted).findFirst().orElseThrow();
        List<Job> ends = results.stream().filter(BatchResult::hasJob).map(BatchResult::getJob).toList();
        assertEquals(1, ends.size(), "line " + line + ": " + results);
        assertEquals(accepted, ends.get(0).getId());
        assertEquals(JobState.SUCCEEDED, ends.get(0).getState());
      }
      assertEquals(1, byKey.values().stream().flatMap(List::stream).filter(BatchResult::hasJob).map(r -> r.getJob().getId())
          .collect(Collectors.toSet()).size(), "one job for the three lines");
      assertEquals(1, jobsWithKey(service, "shared"));
    }
  }

  @Test
  void aKey_outlivesARestart_ofAServiceThatKeepsItsJobs() throws Exception {
    Job first;
    try (RunningService service = sqlite("f")) {
      first = service.client().wire().run(job("echo", "{\"n\": 7}", "restart"), event -> {});
      assertEquals(JobState.SUCCEEDED, first.getState());
    }
    try (RunningService service = sqlite("g")) {
      Job again = service.client().wire().submit(job("echo", "{\"n\": 7}", "restart"));
      assertEquals(first.getId(), again.getId());
      assertEquals(JobState.SUCCEEDED, again.getState());
      assertEquals(first.getOutputJson(), again.getOutputJson());
      assertEquals(1, jobsWithKey(service, "restart"));
    }
  }

  @Test
  void cli_submitAndRun_withIdempotencyKey_answerWithTheHeldJob_andRefuseAnotherInput() throws Exception {
    try (RunningService service = sqlite("h")) {
      var first = service.cli("submit", "echo", "{\"n\": 1}", "--idempotency-key", "cli-key");
      assertEquals(0, first.exitCode(), first.err());
      var again = service.cli("submit", "echo", "{\"n\": 1}", "--idempotency-key", "cli-key");
      assertEquals(first.out(), again.out(), "the same job id");
      var run = service.cli("run", "echo", "{\"n\": 1}", "--idempotency-key", "cli-key", "--json");
      assertEquals(0, run.exitCode(), run.err());
      assertTrue(run.out().contains("\"id\" : \"" + first.out().strip() + "\"") && run.out().contains("\"idempotency_key\" : \"cli-key\""),
          run.out());
      var other = service.cli("submit", "echo", "{\"n\": 2}", "--idempotency-key", "cli-key");
      assertEquals(2, other.exitCode(), "refused as invalid input is");
      assertTrue(other.err().contains("'cli-key'") && other.err().contains(first.out().strip()), other.err());
      var tooLong = service.cli("submit", "echo", "1", "--idempotency-key", "k".repeat(201));
      assertEquals(2, tooLong.exitCode());
      assertTrue(tooLong.err().contains("at most 200"), tooLong.err());
      assertEquals(1, jobsWithKey(service, "cli-key"));
    }
  }

  @Test
  void withMemory_aKeyLivesAsLongAsTheService() throws Exception {
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      var wire = service.client().wire();
      Job first = wire.run(job("echo", "1", "m"), event -> {});
      assertEquals(first.getId(), wire.submit(job("echo", "1", "m")).getId());
      assertEquals(1, jobsWithKey(service, "m"));
    }
  }
}
