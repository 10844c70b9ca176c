package dev.offload.supervisor.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.JobState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;

/** The SQLite store on its own: what it records, what it gives back after a crash, and what it refuses. */
class SqliteStoreTest {

  @TempDir Path dir;

  private final ExecutorService io = Executors.newSingleThreadExecutor();
  private final AtomicLong commits = new AtomicLong();

  @AfterEach
  void stopIo() throws InterruptedException {
    io.shutdownNow();
    assertTrue(io.awaitTermination(5, TimeUnit.SECONDS));
  }

  private SqliteStore store(int keepFinished) {
    return new SqliteStore(dir.resolve("jobs.db"), Durability.PROCESS, keepFinished);
  }

  private Recovery open(SqliteStore store) {
    return store.open(io, nanos -> commits.incrementAndGet());
  }

  private static JobRecord queued(long id, int retries) {
    return new JobRecord(id, "echo", JobState.QUEUED, "{\"n\":" + id + "}", "", "", "", 0, 0, retries, 0, 0,
        System.currentTimeMillis(), 0, 0, 0);
  }

  private static JobRecord running(JobRecord job, int attempts) {
    return new JobRecord(job.id(), job.handler(), JobState.RUNNING, job.inputJson(), "", "", "", 4242, attempts, job.retries(),
        0, 0, job.submittedAtMs(), System.currentTimeMillis(), 3, 0);
  }

  private static JobRecord succeeded(JobRecord job) {
    return new JobRecord(job.id(), job.handler(), JobState.SUCCEEDED, job.inputJson(), "{\"out\":" + job.id() + "}", "", "", 4242,
        1, job.retries(), 0, 0, job.submittedAtMs(), System.currentTimeMillis(), 3, 7, job.idempotencyKey());
  }

  /** Waits for a completion, which the store hands to the I/O executor. */
  private static void await(CompletableFuture<StoreException> done) throws Exception {
    assertNull(done.get(10, TimeUnit.SECONDS), "the write failed");
  }

  @Test
  void open_emptyFile_startsAtIdOne_andRecordsNothingYet() {
    try (SqliteStore store = store(10)) {
      Recovery recovery = open(store);
      assertEquals(1, recovery.nextId());
      assertTrue(recovery.queued().isEmpty() && recovery.finished().isEmpty());
      assertEquals(0, recovery.lostAtMs());
      assertEquals(0, store.jobsKept());
      assertTrue(store.sizeBytes() > 0);
    }
  }

  @Test
  void whileOpen_theFileIsHeldForGood_withoutAShmFile_andReadableOnceClosed() throws Exception {
    Path db = dir.resolve("jobs.db");
    SQLiteConfig noWait = new SQLiteConfig();
    noWait.setBusyTimeout(0);
    try (SqliteStore store = store(10)) {
      open(store);
      CompletableFuture<StoreException> committed = new CompletableFuture<>();
      store.accepted(queued(1, 0), committed::complete);
      await(committed);
      assertFalse(Files.exists(dir.resolve("jobs.db-shm")), "the WAL's index is in the service's memory");
      try (Connection other = noWait.createConnection("jdbc:sqlite:" + db); Statement s = other.createStatement()) {
        SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT count(*) FROM jobs"));
        assertTrue(e.getMessage().contains("locked") || e.getMessage().contains("BUSY"), e.getMessage());
      }
    }
    try (Connection other = noWait.createConnection("jdbc:sqlite:" + db); Statement s = other.createStatement();
        ResultSet r = s.executeQuery("SELECT count(*) FROM jobs")) {
      assertEquals(1, r.getInt(1));
    }
  }

  @Test
  void reopen_afterUncleanEnd_queuedRun_runningWithRetriesRequeued_runningWithoutLost_finishedKept() throws Exception {
    SqliteStore first = store(10);
    open(first);
    JobRecord q = queued(1, 0);
    JobRecord withRetries = queued(2, 1);
    JobRecord without = queued(3, 0);
    JobRecord done = queued(4, 0);
    CompletableFuture<StoreException> committed = new CompletableFuture<>();
    first.accepted(q, f -> {});
    first.accepted(withRetries, f -> {});
    first.accepted(without, f -> {});
    first.accepted(done, f -> {});
    first.started(List.of(running(withRetries, 1), running(without, 1), running(done, 1)), f -> {});
    first.ended(succeeded(done), committed::complete);
    await(committed);
    long reserved = first.reservedIdsBelow();
    assertTrue(reserved > 4, "the ids in use are reserved: " + reserved);
    // No close: as if the service were killed (the lock is this process's, so it is let go by hand).
    abandon(first);

    try (SqliteStore second = store(10)) {
      Recovery recovery = open(second);
      assertEquals(reserved, recovery.nextId(), "ids go on past every id reserved, which a job may have had unrecorded");
      assertEquals(List.of(1L, 2L), recovery.queued().stream().map(JobRecord::id).toList());
      JobRecord requeued = recovery.queued().get(1);
      assertEquals(JobState.QUEUED, requeued.state());
      assertEquals(1, requeued.attempts(), "the lost attempt stays counted");
      assertEquals(1, recovery.requeued());
      assertEquals(1, recovery.lost());
      assertTrue(recovery.lostAtMs() > 0);
      assertEquals(List.of(4L, 3L), recovery.finished().stream().map(JobRecord::id).toList(), "in the order they ended");
      JobRecord lost = recovery.finished().get(1);
      assertEquals(JobState.FAILED, lost.state());
      assertEquals(Recovery.SERVICE_LOST, lost.errorCode());
      assertTrue(lost.errorMessage().contains("last knew it alive at"), lost.errorMessage());
      JobRecord kept = recovery.finished().get(0);
      assertEquals("{\"out\":4}", kept.outputJson());
      assertEquals(7, kept.runMs());
      assertEquals(4242, kept.workerPid());
    }
  }

  @Test
  void reservedIds_growAheadOfTheIdsRecorded_andACleanCloseLeavesNoGap() throws Exception {
    long firstReservation;
    try (SqliteStore store = store(10)) {
      open(store);
      firstReservation = store.reservedIdsBelow();
      assertEquals(1 + SqliteStore.ID_RESERVATION, firstReservation, "reserved at open");
      long id = SqliteStore.ID_RESERVATION / 2 + 1; // past half the reservation: the next commit reserves more
      CompletableFuture<StoreException> committed = new CompletableFuture<>();
      store.accepted(queued(id, 0), committed::complete);
      await(committed);
      assertEquals(id + 1 + SqliteStore.ID_RESERVATION, store.reservedIdsBelow());
    }
    try (SqliteStore store = store(10)) {
      assertEquals(SqliteStore.ID_RESERVATION / 2 + 2, open(store).nextId(), "a clean close gives back the ids unused");
    }
  }

  @Test
  void finishedJobs_beyondKeepFinished_arePrunedInTheStore() throws Exception {
    try (SqliteStore store = store(3)) {
      open(store);
      CompletableFuture<StoreException> last = new CompletableFuture<>();
      for (long id = 1; id <= 250; id++) {
        JobRecord job = queued(id, 0);
        store.accepted(job, f -> {});
        store.ended(succeeded(job), id == 250 ? last::complete : f -> {});
      }
      await(last);
      assertTrue(store.jobsKept() < 250, "pruned as it goes: " + store.jobsKept());
    }
    try (SqliteStore store = store(3)) {
      Recovery recovery = open(store);
      assertEquals(List.of(248L, 249L, 250L), recovery.finished().stream().map(JobRecord::id).toList());
      assertEquals(3, store.jobsKept(), "the rest deleted at open");
      assertEquals(251, recovery.nextId(), "ids never repeat, even once every row is gone");
    }
  }

  @Test
  void pruning_deletesTheJobsThatEndedFirst_notThoseWithTheLowestIds_whileOpenAndAfterTheNextOpen() throws Exception {
    int jobs = 250;
    int keep = 150; // pruning every 100 ends
    try (SqliteStore store = store(keep)) {
      open(store);
      for (long id = 1; id <= jobs; id++) {
        store.accepted(queued(id, 0), f -> {});
      }
      CompletableFuture<StoreException> last = new CompletableFuture<>();
      for (long id = jobs; id >= 1; id--) { // the newest job ends first
        store.ended(succeeded(queued(id, 0)), id == 1 ? last::complete : f -> {});
      }
      await(last);
    }
    // As the service left the file: what it pruned while open was always the jobs that ended first.
    List<Long> kept = idsInFile();
    assertTrue(kept.size() < jobs, "pruned while open: " + kept.size() + " rows kept");
    assertEquals(LongStream.rangeClosed(1, kept.size()).boxed().toList(), kept, "the rows left are those of the last ends");

    try (SqliteStore store = store(keep)) {
      Recovery recovery = open(store);
      assertEquals(LongStream.iterate(keep, id -> id >= 1, id -> id - 1).boxed().toList(),
          recovery.finished().stream().map(JobRecord::id).toList(), "pruned at open to the last 150 ends, in the order they ended");
      // 100 more ends: one pruning, as the last of them commits, through the order of ends read at open.
      CompletableFuture<StoreException> more = new CompletableFuture<>();
      for (long id = jobs + 1; id <= jobs + 100; id++) {
        JobRecord job = queued(id, 0);
        store.accepted(job, f -> {});
        store.ended(succeeded(job), id == jobs + 100 ? more::complete : f -> {});
      }
      await(more);
    }
    List<Long> expected = new ArrayList<>(LongStream.rangeClosed(1, 50).boxed().toList()); // jobs 150 to 51 ended first
    expected.addAll(LongStream.rangeClosed(jobs + 1, jobs + 100).boxed().toList());
    assertEquals(expected, idsInFile(), "the 100 that ended first of the 250 finished jobs were deleted");
  }

  /** The ids of the rows in the store's file, closed, in order. */
  private List<Long> idsInFile() throws SQLException {
    List<Long> ids = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("jobs.db")); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT id FROM jobs ORDER BY id")) {
      while (r.next()) {
        ids.add(r.getLong(1));
      }
    }
    return ids;
  }

  @Test
  void theOrderOfEnds_goesOnAcrossOpens_betweenPrunings() throws Exception {
    for (long[] ids : new long[][] {{1, 2, 3, 4, 5}, {6, 7}}) {
      try (SqliteStore store = store(100)) { // far from pruning: the count of ends lives in the jobs only
        open(store);
        CompletableFuture<StoreException> last = new CompletableFuture<>();
        for (long id : ids) {
          JobRecord job = queued(id, 0);
          store.accepted(job, f -> {});
          store.ended(succeeded(job), id == ids[ids.length - 1] ? last::complete : f -> {});
        }
        await(last);
      }
    }
    try (SqliteStore store = store(3)) {
      Recovery recovery = open(store);
      assertEquals(List.of(5L, 6L, 7L), recovery.finished().stream().map(JobRecord::id).toList(),
          "the three that ended last are kept: the second service counted on from the first's ends");
    }
  }

  @Test
  void completions_ofAGroup_comeBackInOrder_onTheCompletionsExecutor() throws Exception {
    List<Long> order = new ArrayList<>();
    List<String> threads = new ArrayList<>();
    CompletableFuture<Void> all = new CompletableFuture<>();
    try (SqliteStore store = store(10)) {
      open(store);
      for (long id = 1; id <= 1_000; id++) {
        long n = id;
        store.accepted(queued(id, 0), f -> {
          order.add(n); // only ever the single I/O thread
          threads.add(Thread.currentThread().getName());
          if (n == 1_000) {
            all.complete(null);
          }
        });
      }
      all.get(10, TimeUnit.SECONDS);
    }
    assertEquals(1_000, order.size());
    for (int i = 0; i < order.size(); i++) {
      assertEquals(i + 1, order.get(i));
    }
    assertTrue(threads.stream().noneMatch(t -> t.equals("offload-store-writer")), "handed back, never run on the writer");
    assertTrue(commits.get() < 1_000, "grouped: " + commits.get() + " commits for 1,000 jobs");
  }

  /** Opens a process-durability store on the given I/O thread, and waits for its writer to park. */
  private SqliteStore openOnIo(ExecutorService ioThread, List<String> committers) {
    SqliteStore store = store(100);
    store.open(ioThread, nanos -> committers.add(Thread.currentThread().getName()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!store.writerParked()) {
      assertTrue(System.nanoTime() < deadline, "the writer never parked after open");
      Thread.onSpinWait();
    }
    return store;
  }

  @Test
  void processDurability_writesQueuedOnTheIoThreadWhileTheWriterIsIdle_commitThere_afterTheTasksThatTheirTaskQueued() throws Exception {
    List<String> committers = Collections.synchronizedList(new ArrayList<>());
    List<String> events = new ArrayList<>(); // the I/O thread's only
    CompletableFuture<Integer> commitsDuringTheTask = new CompletableFuture<>();
    CompletableFuture<Integer> commitsBeforeTheFlush = new CompletableFuture<>();
    CompletableFuture<StoreException> ended = new CompletableFuture<>();
    try (SqliteStore store = openOnIo(io, committers)) {
      io.execute(() -> {
        int before = committers.size();
        JobRecord job = running(queued(1, 0), 1);
        store.accepted(job, f -> events.add("accepted"));
        // As gRPC's Netty transport sends the job to its worker: in a task it queues, its flush.
        io.execute(() -> {
          events.add("the job flushed to its worker");
          commitsBeforeTheFlush.complete(committers.size() - before);
        });
        store.ended(succeeded(job), f -> {
          events.add("ended");
          ended.complete(f);
        });
        events.add("the task that queued them is over");
        commitsDuringTheTask.complete(committers.size() - before);
      });
      await(ended);
      assertEquals(0, commitsDuringTheTask.get(), "nothing committed while the task that queued them ran");
      assertEquals(0, commitsBeforeTheFlush.get(), "nothing committed before the job was on its way");
      assertEquals(List.of("the task that queued them is over", "the job flushed to its worker", "accepted", "ended"), events);
      String ioThread = io.submit(() -> Thread.currentThread().getName()).get(10, TimeUnit.SECONDS);
      assertEquals(1, Collections.frequency(committers, ioThread), "one commit, on the I/O thread: " + committers);
    }
    try (SqliteStore store = store(100)) {
      Recovery recovery = open(store);
      assertEquals(List.of(1L), recovery.finished().stream().map(JobRecord::id).toList(), "recorded for good");
      assertEquals(JobState.SUCCEEDED, recovery.finished().getFirst().state());
    }
  }

  @Test
  void aJobAcceptedAndEndedInOneGroup_isRecordedAsItEnded_inItsOrderOfEnds() throws Exception {
    List<String> committers = Collections.synchronizedList(new ArrayList<>());
    JobRecord before = queued(1, 0);
    JobRecord keyed = new JobRecord(2, "echo", JobState.RUNNING, "{\"n\":2}", "", "", "", 4242, 1, 0, 0, 0,
        System.currentTimeMillis(), System.currentTimeMillis(), 3, 0, "key-2");
    JobRecord keyedEnd = new JobRecord(2, "echo", JobState.FAILED, keyed.inputJson(), "", "HANDLER_ERROR", "it said no", 4242, 1, 0,
        0, 0, keyed.submittedAtMs(), keyed.startedAtMs(), 3, 5, "key-2");
    CompletableFuture<StoreException> ended = new CompletableFuture<>();
    try (SqliteStore store = openOnIo(io, committers)) {
      CompletableFuture<StoreException> first = new CompletableFuture<>();
      store.accepted(before, f -> {});
      store.ended(succeeded(before), first::complete); // ended first, in a commit of its own
      await(first);
      io.execute(() -> {
        JobRecord job = running(queued(3, 0), 1);
        store.accepted(keyed, f -> {});
        store.accepted(job, f -> {});
        store.started(List.of(job), f -> {});
        store.ended(keyedEnd, f -> {});
        store.ended(succeeded(job), ended::complete);
      });
      await(ended);
    }
    try (SqliteStore store = store(2)) {
      Recovery recovery = open(store);
      List<JobRecord> finished = recovery.finished();
      assertEquals(List.of(2L, 3L), finished.stream().map(JobRecord::id).toList(), "the two that ended last, in their order");
      assertEquals(keyedEnd, finished.getFirst(), "recorded whole, as it ended, its key with it");
      assertEquals(JobState.SUCCEEDED, finished.get(1).state());
      assertEquals(2, store.jobsKept(), "the job that ended first pruned at open, the two after it kept");
    }
  }

  @Test
  void manyJobsAtEveryStep_inGroupsOfAnySize_areRecordedRowForRow() throws Exception {
    // 100 accepted, 70 of them started, 37 of those ended: lengths that take several statements each.
    List<JobRecord> expected = new ArrayList<>();
    try (SqliteStore store = store(1_000)) {
      open(store);
      CompletableFuture<StoreException> last = new CompletableFuture<>();
      List<JobRecord> started = new ArrayList<>();
      List<JobRecord> stillQueued = new ArrayList<>();
      for (long id = 1; id <= 100; id++) {
        JobRecord job = queued(id, 1);
        store.accepted(job, f -> {});
        (id <= 70 ? started : stillQueued).add(id <= 70 ? running(job, 1) : job);
      }
      store.started(started, f -> {});
      for (int i = 0; i < 70; i++) {
        JobRecord job = started.get(i);
        if (i < 37) {
          JobRecord end = succeeded(job);
          store.ended(end, i == 36 ? last::complete : f -> {});
          expected.add(end);
        } else {
          expected.add(job);
        }
      }
      expected.addAll(stillQueued);
      await(last);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("jobs.db")); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT * FROM jobs ORDER BY finished_seq IS NULL, finished_seq, id")) {
      List<JobRecord> rows = new ArrayList<>();
      List<Long> order = new ArrayList<>();
      while (r.next()) {
        rows.add(JobRecord.read(r));
        order.add(r.getObject("finished_seq") == null ? null : r.getLong("finished_seq"));
      }
      assertEquals(expected.stream().map(JobRecord::id).sorted().toList(), rows.stream().map(JobRecord::id).sorted().toList());
      for (JobRecord row : rows) {
        assertEquals(expected.stream().filter(e -> e.id() == row.id()).findFirst().orElseThrow(), row, "j-" + row.id());
      }
      for (int i = 0; i < 37; i++) {
        assertEquals(i + 1, order.get(i), "the ends numbered 1 to 37 in the order they were written");
        assertEquals(expected.get(i).id(), rows.get(i).id());
      }
    }
  }

  @Test
  void theEndOfAJobWithNoRow_leavesNoGapInTheOrderOfEnds() throws Exception {
    List<String> committers = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<StoreException> ended = new CompletableFuture<>();
    try (SqliteStore store = openOnIo(io, committers)) {
      CompletableFuture<StoreException> accepted = new CompletableFuture<>();
      for (long id = 1; id <= 3; id++) {
        store.accepted(running(queued(id, 0), 1), id == 3 ? accepted::complete : f -> {});
      }
      await(accepted);
      io.execute(() -> { // one task: one group, whose third end has no row (its acceptance was never recorded)
        store.ended(succeeded(queued(1, 0)), f -> {});
        store.ended(succeeded(queued(2, 0)), f -> {});
        store.ended(succeeded(queued(99, 0)), f -> {});
        store.ended(succeeded(queued(3, 0)), ended::complete);
      });
      await(ended);
    }
    try (SqliteStore store = store(2)) {
      Recovery recovery = open(store);
      assertEquals(List.of(2L, 3L), recovery.finished().stream().map(JobRecord::id).toList(),
          "--keep-finished 2 keeps the last two ends: a gap in their numbers would have kept one");
      assertEquals(2, store.jobsKept());
    }
  }

  @Test
  void machineDurability_jobsSentAtOnce_areAcceptedAndEndedInOrder_whetherOrNotTheirEndsShareACommit() throws Exception {
    List<String> told = java.util.Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<StoreException> last = new CompletableFuture<>();
    try (SqliteStore store = new SqliteStore(dir.resolve("jobs.db"), Durability.MACHINE, 100)) {
      open(store);
      for (long id = 1; id <= 20; id++) {
        long n = id;
        JobRecord job = running(queued(id, 0), 1);
        store.accepted(job, f -> told.add("accepted " + n + (f == null ? "" : " failed")));
        if (id % 2 == 0) {
          Thread.onSpinWait(); // some ends follow at once, some after the writer has taken the acceptance
        }
        store.ended(succeeded(job), f -> {
          told.add("ended " + n + (f == null ? "" : " failed"));
          if (n == 20) {
            last.complete(f);
          }
        });
      }
      await(last);
    }
    List<String> expected = new ArrayList<>();
    for (long id = 1; id <= 20; id++) {
      expected.add("accepted " + id);
      expected.add("ended " + id);
    }
    assertEquals(expected, told, "every write committed and told in order");
    try (SqliteStore store = store(100)) {
      Recovery recovery = open(store);
      assertTrue(recovery.queued().isEmpty());
      assertEquals(20, recovery.finished().size());
      assertTrue(recovery.finished().stream().allMatch(j -> j.state() == JobState.SUCCEEDED));
    }
  }

  @Test
  void fullDatabase_refusesAcceptances_holdsEnds_triesAgainEverySecond_andRecordsThemOnceItHasRoom() throws Exception {
    Semaphore attempts = new Semaphore(0);
    JobRecord job = queued(1, 0);
    String output = "\"" + "x".repeat(64 * 1024) + "\""; // overflow pages: a write that needs room
    JobRecord end = new JobRecord(1, "echo", JobState.SUCCEEDED, job.inputJson(), output, "", "", 4242, 1, 0, 0, 0,
        job.submittedAtMs(), System.currentTimeMillis(), 3, 7);
    try (SqliteStore store = store(10)) {
      store.open(io, nanos -> attempts.release());
      CompletableFuture<StoreException> accepted = new CompletableFuture<>();
      store.accepted(job, accepted::complete);
      await(accepted);
      CompletableFuture<StoreException> started = new CompletableFuture<>();
      store.started(List.of(running(job, 1)), started::complete);
      await(started);
      assertNull(store.failure());

      store.pragma("max_page_count=1"); // no page more than it has: SQLITE_FULL, as on a full disk
      CompletableFuture<StoreException> ended = new CompletableFuture<>();
      store.ended(end, ended::complete);
      CompletableFuture<StoreException> refused = new CompletableFuture<>();
      store.accepted(new JobRecord(2, "echo", JobState.QUEUED, output, "", "", "", 0, 0, 0, 0, 0, System.currentTimeMillis(), 0,
          0, 0), refused::complete);
      StoreException failure = refused.get(10, TimeUnit.SECONDS);
      assertNotNull(failure, "an acceptance the store cannot record is refused");
      assertTrue(failure.diskFull(), "SQLITE_FULL is told apart: " + failure.getMessage());
      assertTrue(failure.getMessage().contains(dir.resolve("jobs.db").toString()) && failure.getMessage().contains("disk is full")
          && failure.getMessage().contains("free space"), failure.getMessage());
      assertFalse(ended.isDone(), "the end, written before the refused acceptance, is held until it is recorded");
      assertEquals(failure.getMessage(), store.failure().getMessage());
      assertEquals(1, store.heldWrites(), "the end is held; the refused acceptance is not");

      // While nothing else comes, the held end is tried again once a second: never a spin.
      attempts.drainPermits();
      long since = System.nanoTime();
      assertTrue(attempts.tryAcquire(2, 10, TimeUnit.SECONDS), "tried again");
      assertTrue(System.nanoTime() - since >= SqliteStore.RETRY_NANOS, "no sooner than the retry interval");
      assertFalse(ended.isDone());

      store.pragma("max_page_count=1000000"); // room again
      assertNull(ended.get(10, TimeUnit.SECONDS), "recorded once the store has room, and only then told");
      assertNull(store.failure());
      assertEquals(0, store.heldWrites());
      assertEquals(1, store.jobsKept());
    }
    try (SqliteStore store = store(10)) {
      Recovery recovery = open(store);
      assertTrue(recovery.queued().isEmpty(), "the refused job was not kept: " + recovery.queued());
      assertEquals(1, recovery.finished().size());
      JobRecord kept = recovery.finished().getFirst();
      assertEquals(JobState.SUCCEEDED, kept.state());
      assertEquals(output, kept.outputJson());
      assertEquals(1, kept.attempts());
    }
  }

  @Test
  void fullDatabase_aStartIsToldAtOnce_andRecordedLater_beforeItsEnd() throws Exception {
    JobRecord a = queued(1, 0);
    JobRecord b = queued(2, 0);
    String big = "\"" + "x".repeat(64 * 1024) + "\"";
    try (SqliteStore store = store(10)) {
      open(store);
      CompletableFuture<StoreException> accepted = new CompletableFuture<>();
      store.accepted(a, f -> {});
      store.accepted(b, f -> {});
      store.started(List.of(running(a, 1)), accepted::complete);
      await(accepted);

      store.pragma("max_page_count=1");
      CompletableFuture<StoreException> endedA = new CompletableFuture<>();
      store.ended(new JobRecord(1, "echo", JobState.SUCCEEDED, a.inputJson(), big, "", "", 4242, 1, 0, 0, 0, a.submittedAtMs(),
          System.currentTimeMillis(), 3, 7), endedA::complete);
      // A's end is held at the head of every group from now on, so B's start cannot be committed either.
      CompletableFuture<StoreException> startedB = new CompletableFuture<>();
      JobRecord runningB = running(b, 1);
      store.started(List.of(runningB), startedB::complete);
      StoreException told = startedB.get(10, TimeUnit.SECONDS);
      assertNotNull(told, "a start the store cannot record is told so at once, so its job can go to its worker");
      assertFalse(endedA.isDone());
      CompletableFuture<StoreException> endedB = new CompletableFuture<>();
      store.ended(new JobRecord(2, "echo", JobState.SUCCEEDED, b.inputJson(), "{\"b\":1}", "", "", 4242, 1, 0, 0, 0,
          b.submittedAtMs(), runningB.startedAtMs(), 3, 5), endedB::complete);
      assertEquals(3, heldAfter(store, 3), "A's end, B's start and B's end are held");
      assertFalse(endedB.isDone());

      store.pragma("max_page_count=1000000");
      assertNull(endedA.get(10, TimeUnit.SECONDS));
      assertNull(endedB.get(10, TimeUnit.SECONDS));
    }
    try (SqliteStore store = store(10)) {
      Recovery recovery = open(store);
      assertTrue(recovery.queued().isEmpty(), recovery.queued().toString());
      assertEquals(List.of(1L, 2L), recovery.finished().stream().map(JobRecord::id).toList(), "both ends, in their order");
      assertEquals(big, recovery.finished().get(0).outputJson());
      assertEquals("{\"b\":1}", recovery.finished().get(1).outputJson());
    }
  }

  /** The store's held writes once they reach {@code expected} (the writer counts them as it takes them), within 10 s. */
  private static int heldAfter(SqliteStore store, int expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (store.heldWrites() < expected && System.nanoTime() < deadline) {
      Thread.sleep(10); // polled: the writer takes a new write only with its next group
    }
    return store.heldWrites();
  }

  @Test
  void readOnly_refusesAcceptances_notAsAFullDisk_andRecordsAgainOnceWritable() throws Exception {
    try (SqliteStore store = store(10)) {
      open(store);
      store.pragma("query_only=1"); // every write fails SQLITE_READONLY, as a read-only file's would
      CompletableFuture<StoreException> refused = new CompletableFuture<>();
      store.accepted(queued(1, 0), refused::complete);
      StoreException failure = refused.get(10, TimeUnit.SECONDS);
      assertNotNull(failure);
      assertFalse(failure.diskFull(), failure.getMessage());
      assertTrue(failure.getMessage().contains("the job store " + dir.resolve("jobs.db")) && failure.getMessage().contains("read-only")
          && failure.getMessage().contains("writable"), failure.getMessage());
      assertEquals(0, store.heldWrites(), "a refused acceptance is not held");
      store.pragma("query_only=0");
      CompletableFuture<StoreException> accepted = new CompletableFuture<>();
      store.accepted(queued(2, 0), accepted::complete);
      await(accepted);
      assertNull(store.failure());
      assertEquals(1, store.jobsKept());
    }
  }

  @Test
  void aWriteSQLiteRefuses_isDroppedAlone_andTheStoreGoesOn() throws Exception {
    try (SqliteStore store = store(10)) {
      open(store);
      CompletableFuture<StoreException> first = new CompletableFuture<>();
      CompletableFuture<StoreException> poison = new CompletableFuture<>();
      CompletableFuture<StoreException> third = new CompletableFuture<>();
      store.accepted(queued(1, 0), first::complete);
      // No handler: the NOT NULL constraint refuses the row, as it would again on any retry.
      store.accepted(new JobRecord(2, null, JobState.QUEUED, "1", "", "", "", 0, 0, 0, 0, 0, System.currentTimeMillis(), 0, 0, 0),
          poison::complete);
      store.accepted(queued(3, 0), third::complete);
      StoreException refused = poison.get(10, TimeUnit.SECONDS);
      assertNotNull(refused);
      assertTrue(refused.getMessage().contains("could not record a change of job j-2"), refused.getMessage());
      await(first);
      await(third);
      assertNull(store.failure(), "one write's fault is not the store's");
      assertEquals(0, store.heldWrites());
    }
    try (SqliteStore store = store(10)) {
      assertEquals(List.of(1L, 3L), open(store).queued().stream().map(JobRecord::id).toList());
    }
  }

  @Test
  void close_whileFull_triesOnceMore_thenTellsTheHeldEndItWasNotRecorded() throws Exception {
    JobRecord job = queued(1, 0);
    CompletableFuture<StoreException> ended = new CompletableFuture<>();
    try (SqliteStore store = store(10)) {
      open(store);
      CompletableFuture<StoreException> started = new CompletableFuture<>();
      store.accepted(job, f -> {});
      store.started(List.of(running(job, 1)), started::complete);
      await(started);
      store.pragma("max_page_count=1");
      store.ended(new JobRecord(1, "echo", JobState.SUCCEEDED, job.inputJson(), "\"" + "x".repeat(64 * 1024) + "\"", "", "", 4242,
          1, 0, 0, 0, job.submittedAtMs(), System.currentTimeMillis(), 3, 7), ended::complete);
      assertEquals(1, heldAfter(store, 1));
    }
    StoreException failure = ended.get(10, TimeUnit.SECONDS);
    assertNotNull(failure, "closed before it could record the end: told so, not left waiting");
    assertTrue(failure.diskFull(), failure.getMessage());
    try (SqliteStore store = store(10)) {
      Recovery recovery = open(store);
      assertEquals(1, recovery.finished().size());
      assertEquals(Recovery.SERVICE_LOST, recovery.finished().getFirst().errorCode(), "what the store last knew: running, no retries");
    }
  }

  @Test
  void secondOpen_whileHeld_isRefused_namingThePid() {
    try (SqliteStore store = store(10)) {
      open(store);
      StoreException e = assertThrows(StoreException.class, () -> open(store(10)));
      assertTrue(e.getMessage().contains("in use by another offload serve"), e.getMessage());
      assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
    }
  }

  @Test
  void newerSchema_isRefused_andLeftAsItIs() throws Exception {
    try (SqliteStore store = store(10)) {
      open(store);
    }
    Path db = dir.resolve("jobs.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
      s.execute("PRAGMA user_version=" + (SqliteStore.SCHEMA_VERSION + 1));
    }
    byte[] before = Files.readAllBytes(db);
    StoreException e = assertThrows(StoreException.class, () -> open(store(10)));
    assertTrue(e.getMessage().contains("newer offload") && e.getMessage().contains(db.toString()), e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(db));
  }

  @Test
  void garbage_isRefused_namingTheFile_andLeftAsItIs() throws Exception {
    Path db = dir.resolve("jobs.db");
    byte[] garbage = new byte[8192];
    new java.util.Random(15).nextBytes(garbage);
    Files.write(db, garbage);
    StoreException e = assertThrows(StoreException.class, () -> open(store(10)));
    assertTrue(e.getMessage().contains(db.toString()) && e.getMessage().contains("cannot be read"), e.getMessage());
    assertArrayEquals(garbage, Files.readAllBytes(db));
    // and the lock was let go: a good store there opens
    Files.delete(db);
    try (SqliteStore store = store(10)) {
      assertEquals(1, open(store).nextId());
    }
  }

  @Test
  void version1Store_migrates_keepsItsRows_andThenKeepsKeys() throws Exception {
    // A store as offload wrote it before version 2: its own migration, then a queued job and a
    // finished one, as a service left them.
    Path db = dir.resolve("jobs.db");
    String v1;
    try (var in = SqliteStore.class.getResourceAsStream("sqlite/V1__jobs.sql")) {
      v1 = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    long now = System.currentTimeMillis();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
      for (String sql : SqliteStore.statements(v1)) {
        s.execute(sql);
      }
      s.execute("PRAGMA user_version=1");
      s.execute("INSERT INTO jobs (id, handler, state, input_json, retries, timeout_ms, deadline_ms, submitted_at_ms)"
          + " VALUES (1, 'echo', 'QUEUED', '{\"n\":1}', 0, 0, 0, " + now + ")");
      s.execute("INSERT INTO jobs (id, handler, state, input_json, output_json, worker_pid, attempts, retries, timeout_ms,"
          + " deadline_ms, submitted_at_ms, started_at_ms, run_ms, finished_seq)"
          + " VALUES (2, 'echo', 'SUCCEEDED', '{\"n\":2}', '{\"out\":2}', 4242, 1, 0, 0, 0, " + now + ", " + now + ", 7, 1)");
      s.execute("UPDATE meta SET value = 3 WHERE key = 'next_id'");
      s.execute("UPDATE meta SET value = 1 WHERE key = 'finished_seq'");
    }

    JobRecord keyed = new JobRecord(3, "echo", JobState.QUEUED, "{\"n\":3}", "", "", "", 0, 0, 0, 0, 0, now, 0, 0, 0, "batch:3");
    try (SqliteStore store = store(10)) {
      Recovery recovery = open(store);
      assertEquals(List.of(1L), recovery.queued().stream().map(JobRecord::id).toList());
      assertEquals("{\"n\":1}", recovery.queued().get(0).inputJson());
      assertNull(recovery.queued().get(0).idempotencyKey(), "a version 1 row has no key");
      assertEquals(List.of(2L), recovery.finished().stream().map(JobRecord::id).toList());
      assertEquals("{\"out\":2}", recovery.finished().get(0).outputJson());
      assertEquals(7, recovery.finished().get(0).runMs());
      CompletableFuture<StoreException> committed = new CompletableFuture<>();
      store.accepted(keyed, committed::complete);
      await(committed);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
        var r = s.executeQuery("PRAGMA user_version")) {
      assertEquals(SqliteStore.SCHEMA_VERSION, r.getInt(1));
    }
    try (SqliteStore store = store(10)) {
      Recovery recovery = open(store);
      assertEquals(List.of(1L, 3L), recovery.queued().stream().map(JobRecord::id).toList());
      assertEquals("batch:3", recovery.queued().get(1).idempotencyKey());
    }
  }

  @Test
  void idempotencyKey_comesBackAfterACrash_andANewJobWithItTakesItOffTheOlderRow() throws Exception {
    long now = System.currentTimeMillis();
    JobRecord first = new JobRecord(1, "echo", JobState.QUEUED, "1", "", "", "", 0, 0, 0, 0, 0, now, 0, 0, 0, "k");
    SqliteStore store = store(10);
    open(store);
    CompletableFuture<StoreException> committed = new CompletableFuture<>();
    store.accepted(first, f -> {});
    store.ended(succeeded(first), committed::complete);
    await(committed);
    abandon(store);

    try (SqliteStore second = store(10)) {
      Recovery recovery = open(second);
      assertEquals("k", recovery.finished().get(0).idempotencyKey(), "the key is kept with its job, across a crash");
      // The service gives the key to a new job once it has forgotten the old one (past
      // --keep-finished in memory), which this file may still hold: the old row stays, keyless.
      JobRecord next = new JobRecord(recovery.nextId(), "echo", JobState.QUEUED, "2", "", "", "", 0, 0, 0, 0, 0, now, 0, 0, 0, "k");
      CompletableFuture<StoreException> taken = new CompletableFuture<>();
      second.accepted(next, taken::complete);
      await(taken);
      assertEquals(2, second.jobsKept());
    }
    try (SqliteStore third = store(10)) {
      Recovery recovery = open(third);
      assertEquals(1, recovery.queued().size());
      assertEquals("k", recovery.queued().get(0).idempotencyKey());
      assertEquals(1, recovery.finished().size());
      assertNull(recovery.finished().get(0).idempotencyKey());
    }
  }

  @Test
  void migrations_splitIntoStatements() {
    assertEquals(List.of("CREATE TABLE a (x INTEGER)", "INSERT INTO a VALUES (1)"),
        SqliteStore.statements("-- a comment; with a semicolon\nCREATE TABLE a (x INTEGER);\n\nINSERT INTO a VALUES (1);\n"));
  }

  @Test
  void url_parse_andRedact() {
    assertEquals(new StoreUrl.Memory(), StoreUrl.parse("memory:"));
    assertEquals(new StoreUrl.Sqlite(Path.of("/var/x/jobs.db")), StoreUrl.parse("sqlite:/var/x/jobs.db"));
    assertEquals(new StoreUrl.Postgresql("", "db.example", 5432, "offload", ""), StoreUrl.parse("postgresql://db.example/offload"));
    assertEquals(new StoreUrl.Postgresql("u", "h", 6543, "db", "ssl=true"), StoreUrl.parse("postgres://u@h:6543/db?ssl=true"));
    assertEquals("jdbc:postgresql://h:6543/db?ssl=true", ((StoreUrl.Postgresql) StoreUrl.parse("postgresql://u@h:6543/db?ssl=true")).jdbcUrl());
    // A password in the URL would show in the process list: refused, without repeating it.
    for (String withPassword : List.of("postgresql://u:secret@h/db", "postgresql://u@h/db?password=secret")) {
      IllegalArgumentException pg = assertThrows(IllegalArgumentException.class, () -> StoreUrl.parse(withPassword));
      assertTrue(pg.getMessage().contains("--store-password-file"), pg.getMessage());
      assertTrue(!pg.getMessage().contains("secret"), pg.getMessage());
    }
    for (String malformed : List.of("postgresql://h", "postgresql:///db", "postgresql://h:99999/db", "jdbc:postgresql://h/db")) {
      assertThrows(IllegalArgumentException.class, () -> StoreUrl.parse(malformed), malformed);
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> StoreUrl.parse("redis://h")).getMessage().contains("unknown store"));
    assertEquals("postgresql://u@h:5432/db?password=***&ssl=true",
        StoreUrl.redact("postgresql://u:secret@h:5432/db?password=hunter2&ssl=true"));
    assertEquals("sqlite:/a/b.db", StoreUrl.redact("sqlite:/a/b.db"));
    assertNotEquals("", StoreUrl.KINDS);
  }

  /**
   * Leaves a store as a killed service would: its writes committed, no last heartbeat, and its
   * lock let go (which the operating system does for a dead process).
   */
  private static void abandon(SqliteStore store) throws Exception {
    var closing = SqliteStore.class.getDeclaredField("closing");
    closing.setAccessible(true);
    closing.set(store, true);
    var writer = SqliteStore.class.getDeclaredField("writer");
    writer.setAccessible(true);
    Thread w = (Thread) writer.get(store);
    java.util.concurrent.locks.LockSupport.unpark(w);
    w.join(10_000);
    var closeQuietly = SqliteStore.class.getDeclaredMethod("closeQuietly");
    closeQuietly.setAccessible(true);
    closeQuietly.invoke(store);
  }
}
