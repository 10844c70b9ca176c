package dev.offload.supervisor.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.Recovery;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The bounds on what finished jobs keep (a count of records, and bytes of data), and jobs held by idempotency key. */
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

  @Test
  void admit_aHeldKey_returnsItsJob_andCreatesNothing() {
    JobStore store = new JobStore(100, 1 << 20, job -> {});
    JobStore.Admission first = store.admit("echo", "1", 0, 0, 0, "k");
    JobStore.Admission again = store.admit("echo", "1", 0, 0, 0, "k");
    JobStore.Admission other = store.admit("echo", "1", 0, 0, 0, "other");
    JobStore.Admission none = store.admit("echo", "1", 0, 0, 0, null);

    assertTrue(first.created());
    assertFalse(again.created());
    assertSame(first.job(), again.job());
    assertTrue(other.created() && none.created());
    assertEquals(3, store.list(null).size(), "the repeated key created no job");
    assertSame(first.job(), store.findByKey("k").orElseThrow());
    assertEquals("k", first.job().toProto().getIdempotencyKey());
    assertNull(none.job().idempotencyKey());
  }

  @Test
  void admit_oneKeyOnManyThreadsAtOnce_createsOneJob() throws Exception {
    JobStore store = new JobStore(100_000, 1 << 20, job -> {});
    int threads = 8;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < 200; round++) {
        String key = "k" + round;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<JobStore.Admission>> admissions = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          admissions.add(pool.submit(() -> {
            go.await();
            return store.admit("echo", "1", 0, 0, 0, key);
          }));
        }
        go.countDown();
        int created = 0;
        Job job = null;
        for (Future<JobStore.Admission> admission : admissions) {
          JobStore.Admission a = admission.get(10, TimeUnit.SECONDS);
          created += a.created() ? 1 : 0;
          assertTrue(job == null || job == a.job(), "every submission of " + key + " got the same job");
          job = a.job();
        }
        assertEquals(1, created, "one of the submissions of " + key + " created its job");
      }
      assertEquals(200, store.list(null).size());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void discard_freesTheKey_forTheNextSubmission() {
    JobStore store = new JobStore(100, 1 << 20, job -> {});
    Job refused = store.admit("echo", "1", 0, 0, 0, "k").job();
    store.discard(refused);

    assertTrue(store.findByKey("k").isEmpty());
    JobStore.Admission next = store.admit("echo", "1", 0, 0, 0, "k");
    assertTrue(next.created());
    assertFalse(next.job() == refused);
  }

  @Test
  void cancelledJob_freesItsKey_forANewJob_whileOtherEndsHoldIt() {
    JobStore store = new JobStore(100, 1 << 20, job -> {});
    Job cancelled = store.admit("echo", "1", 0, 0, 0, "c").job();
    cancelled.fail(JobState.CANCELLED, "CANCELLED", "cancelled by request");
    Job failed = store.admit("echo", "1", 0, 0, 0, "f").job();
    failed.start(1);
    failed.fail(JobState.FAILED, "HANDLER_ERROR", "no");

    JobStore.Admission again = store.admit("echo", "1", 0, 0, 0, "c");
    assertTrue(again.created(), "a cancelled job has nothing to answer with: the work is asked for again");
    assertSame(again.job(), store.findByKey("c").orElseThrow());
    assertSame(cancelled, store.find(cancelled.id()).orElseThrow(), "the cancelled job keeps its record");
    assertFalse(store.admit("echo", "1", 0, 0, 0, "c").created(), "the new job holds the key");
    assertFalse(store.admit("echo", "1", 0, 0, 0, "f").created(), "any other end is the answer");
  }

  @Test
  void expiredJob_freesItsKey_whileAKeptOneHoldsIt() {
    JobStore store = new JobStore(2, 1 << 20, job -> {});
    List<Job> jobs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Job job = store.admit("echo", "1", 0, 0, 0, "k" + i).job();
      job.start(1);
      job.succeed("2");
      jobs.add(job);
    }

    assertTrue(store.findByKey("k0").isEmpty(), "expired past keepFinished: its key is free");
    assertTrue(store.admit("echo", "1", 0, 0, 0, "k0").created());
    assertSame(jobs.get(1), store.findByKey("k1").orElseThrow(), "a kept finished job holds its key");
    assertFalse(store.admit("echo", "1", 0, 0, 0, "k2").created());
  }

  @Test
  void restore_holdsTheKeysOfTheJobsItTakesBack() {
    JobStore store = new JobStore(100, 1 << 20, job -> {});
    long now = System.currentTimeMillis();
    JobRecord queued = new JobRecord(1, "echo", JobState.QUEUED, "1", "", "", "", 0, 0, 0, 0, 0, now, 0, 0, 0, "q");
    JobRecord finished = new JobRecord(2, "echo", JobState.SUCCEEDED, "2", "3", "", "", 42, 1, 0, 0, 0, now, now, 0, 1, "f");
    store.restore(new Recovery(3, List.of(queued), List.of(finished), 0, 0, 0));

    JobStore.Admission q = store.admit("echo", "1", 0, 0, 0, "q");
    JobStore.Admission f = store.admit("echo", "2", 0, 0, 0, "f");
    assertFalse(q.created());
    assertEquals("j-1", q.job().id());
    assertFalse(f.created());
    assertEquals(JobState.SUCCEEDED, f.job().state());
    // Taken back from the store, both were accepted long ago: nothing to wait for.
    AtomicReference<String> told = new AtomicReference<>();
    f.job().whenAccepted(() -> told.set("accepted"), e -> told.set("refused"));
    assertEquals("accepted", told.get());
  }

  @Test
  void whenAccepted_waitsForTheDecision_andPassesARefusalOn() {
    JobStore store = new JobStore(100, 1 << 20, job -> {});
    Job accepted = store.admit("echo", "1", 0, 0, 0, "a").job();
    Job refused = store.admit("echo", "1", 0, 0, 0, "r").job();
    AtomicReference<String> toldA = new AtomicReference<>();
    AtomicReference<RuntimeException> toldR = new AtomicReference<>();
    accepted.whenAccepted(() -> toldA.set("accepted"), e -> toldA.set("refused"));
    refused.whenAccepted(() -> fail("it was refused"), toldR::set);
    assertNull(toldA.get(), "not decided yet: a follower is told nothing");
    assertNull(toldR.get());

    accepted.acceptanceDecided(null);
    IllegalStateException why = new IllegalStateException("the queue is full");
    refused.acceptanceDecided(why);
    refused.acceptanceDecided(null); // the first decision holds

    assertEquals("accepted", toldA.get());
    assertSame(why, toldR.get());
    Job keyless = store.create("echo", "1", 0, 0, 0);
    assertThrows(IllegalStateException.class, () -> keyless.whenAccepted(() -> {}, e -> {}));
  }
}
