package dev.offload.supervisor.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.JobState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The bounds on what finished jobs keep: a count of records, and bytes of data. */
class JobStoreTest {

  /** A JSON string of exactly {@code bytes} UTF-8 bytes. */
  private static String json(int bytes) {
    return "\"" + "x".repeat(bytes - 2) + "\"";
  }

  private static Job succeeded(JobStore store, String input, String output) {
    Job job = store.create("echo", input, 0, 0, 0);
    assertTrue(job.start(1));
    assertTrue(job.succeed(output));
    return job;
  }

  @Test
  void finishedData_beyondTheBound_oldestDroppedFirst_recordsStay() {
    JobStore store = new JobStore(100, 2_500, job -> {});
    List<Job> jobs = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      jobs.add(succeeded(store, json(500), json(500))); // 1,000 bytes each
      assertTrue(store.finishedDataBytes() <= 2_500, "held " + store.finishedDataBytes() + " after job " + i);
    }

    assertEquals(2_000, store.finishedDataBytes(), "the newest two fit; a third would not");
    for (Job old : jobs.subList(0, 8)) {
      var record = store.find(old.id()).orElseThrow().toProto();
      assertEquals(JobState.SUCCEEDED, record.getState(), "the record stays");
      assertTrue(record.getDataDropped());
      assertEquals("", record.getInputJson());
      assertEquals("", record.getOutputJson());
    }
    for (Job recent : jobs.subList(8, 10)) {
      var record = recent.toProto();
      assertFalse(record.getDataDropped());
      assertEquals(json(500), record.getInputJson());
      assertEquals(json(500), record.getOutputJson());
    }
  }

  @Test
  void expiredJobs_giveTheirBytesBack() {
    JobStore store = new JobStore(2, 1 << 20, job -> {});
    List<Job> jobs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      jobs.add(succeeded(store, json(100), json(300)));
    }

    assertEquals(2 * 400, store.finishedDataBytes());
    assertTrue(store.find(jobs.get(2).id()).isEmpty(), "expired");
    assertTrue(jobs.get(2).isDataDropped(), "an expired job lets its data go, even if someone still holds it");
  }

  @Test
  void unfinishedJobs_keepTheirInput_onlyFinishedDataIsBounded() {
    JobStore store = new JobStore(100, 0, job -> {});
    Job queued = store.create("echo", json(1_000), 0, 0, 0);
    Job running = store.create("echo", json(1_000), 0, 0, 0);
    running.start(1);

    Job ended = succeeded(store, json(10), json(10));

    assertEquals(json(1_000), queued.inputJson());
    assertEquals(json(1_000), running.inputJson());
    assertTrue(ended.isDataDropped(), "with a bound of 0 a job's data go as it ends");
    assertEquals(0, store.finishedDataBytes());
  }

  @Test
  void bytesAreUtf8_andErrorMessagesCount_thenAreCut() {
    JobStore store = new JobStore(100, 1 << 20, job -> {});
    String input = "\"" + "é".repeat(100) + "\""; // 202 bytes in UTF-8, 102 characters
    Job failed = store.create("is_prime", input, 0, 0, 0);
    failed.start(1);
    String message = "is_prime takes a number, got " + "y".repeat(5_000);
    failed.fail(JobState.FAILED, "HANDLER_ERROR", message);

    assertEquals(202 + message.length(), store.finishedDataBytes());
    assertEquals(202 + message.length(), failed.dropData());
    var record = failed.toProto();
    assertEquals("HANDLER_ERROR", record.getError().getCode());
    assertEquals(message.substring(0, Job.KEPT_ERROR_CHARS) + "…", record.getError().getMessage());
    assertEquals(0, failed.dropData(), "dropped once");
  }

  @Test
  void jobsEndingOnManyThreads_keepTheAccountExact() throws Exception {
    long bound = 50_000;
    JobStore store = new JobStore(1_000, bound, job -> {});
    List<Job> all = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int size = 100 + t * 150;
        done.add(threads.submit(() -> {
          for (int i = 0; i < 2_000; i++) {
            all.add(succeeded(store, json(size), json(size)));
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }

    long held = all.stream().filter(j -> store.find(j.id()).isPresent()).mapToLong(Job::dataBytes).sum();
    assertEquals(held, store.finishedDataBytes());
    assertTrue(held <= bound, held + " bytes held");
    assertEquals(1_000, store.list(null).size(), "records beyond --keep-finished expired");
  }
}
