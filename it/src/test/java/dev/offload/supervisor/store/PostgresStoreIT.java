package dev.offload.supervisor.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import dev.offload.proto.v1.JobState;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL store against a real PostgreSQL server, with two stores on one database standing
 * for two services of a cluster: claims, fencing after a lost lease, stops through another
 * service, ids, schema versions, secrets in logs, and a database outage.
 */
@ExtendWith(NoLeftoverProcesses.class)
class PostgresStoreIT {

  @RegisterExtension
  static final PostgresExtension pg = new PostgresExtension();

  private final List<PostgresStore> opened = new ArrayList<>();

  @BeforeEach
  void emptyDatabase() throws SQLException {
    try (Connection c = admin(); Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA public CASCADE");
      s.execute("CREATE SCHEMA public");
    }
  }

  @AfterEach
  void closeStores() throws Exception {
    opened.forEach(PostgresStore::close);
    opened.clear();
    if (serverDown) {
      startServer(); // for the next tests, after an assertion failed while it was stopped
    }
  }

  private boolean serverDown;

  private void stopServer() throws Exception {
    serverDown = true;
    pg.server().stop();
  }

  private void startServer() throws Exception {
    pg.server().start();
    serverDown = false;
  }

  @Test
  void acceptedStartedEnded_roundTrip() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    assertEquals("postgresql", a.kind());
    assertEquals(pg.url(), a.url());

    long id = a.newId();
    JobRecord accepted = job(id, JobState.RUNNING, 0);
    assertNull(commit(c -> a.accepted(accepted, c)));
    JobRecord running = new JobRecord(id, "echo", JobState.RUNNING, "{}", "", "", "", 4242, 1, 0, 0, 0, accepted.submittedAtMs(),
        System.currentTimeMillis(), 3, 0);
    assertNull(commit(c -> a.started(List.of(running), c)));
    assertEquals(JobState.RUNNING, a.find(id).orElseThrow().state());
    assertEquals(4242, a.find(id).orElseThrow().workerPid());

    JobRecord done = new JobRecord(id, "echo", JobState.SUCCEEDED, "{}", "{\"ok\":true}", "", "", 4242, 1, 0, 0, 0,
        accepted.submittedAtMs(), running.startedAtMs(), 3, 17);
    assertNull(commit(c -> a.ended(done, c)));
    JobRecord found = a.find(id).orElseThrow();
    assertEquals(JobState.SUCCEEDED, found.state());
    assertEquals("{\"ok\":true}", found.outputJson());
    assertEquals(17, found.runMs());
    assertEquals(List.of(id), a.find(List.of(id, 999_999L)).stream().map(JobRecord::id).toList());
    try (Connection c = admin(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT owner, finished_seq, ran_on FROM jobs WHERE id = " + id)) {
      r.next();
      assertNull(r.getObject(1), "an ended job is held by nobody");
      assertTrue(r.getLong(2) > 0, "an ended job has its place in the order of ends");
      assertEquals("A", r.getString(3));
    }

    long queuedId = a.newId();
    assertNull(commit(c -> a.accepted(job(queuedId, JobState.QUEUED, 0), c)));
    assertEquals(1, a.sharedQueueDepth());
    assertEquals(List.of(queuedId, id), a.list(null, 10).stream().map(JobRecord::id).toList());
    assertEquals(List.of(queuedId), a.list(JobState.QUEUED, 10).stream().map(JobRecord::id).toList());
    assertEquals(List.of("A"), a.services().stream().map(ServiceRecord::name).toList());
    a.heartbeatNow();
    assertEquals(2, a.jobsKept());
    assertTrue(a.sizeBytes() > 0);
  }

  @Test
  void twoServicesClaiming_neverTakeOneJobTwice() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    PostgresStore b = open("B", Duration.ofSeconds(10));
    int jobs = 500;
    List<CompletableFuture<StoreException>> accepted = new ArrayList<>();
    for (int i = 0; i < jobs; i++) {
      Done d = new Done();
      a.accepted(job(a.newId(), JobState.QUEUED, 0), d);
      accepted.add(d.future);
    }
    for (CompletableFuture<StoreException> f : accepted) {
      assertNull(f.get(30, TimeUnit.SECONDS));
    }
    assertEquals(jobs, a.sharedQueueDepth());

    Set<Long> taken = ConcurrentHashMap.newKeySet();
    AtomicInteger duplicates = new AtomicInteger();
    AtomicInteger total = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> claimers = new ArrayList<>();
    for (PostgresStore s : List.of(a, b, a, b)) {
      claimers.add(Thread.ofPlatform().start(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (total.get() < jobs && System.nanoTime() < deadline) {
          for (JobRecord j : s.claim(7)) {
            total.incrementAndGet();
            if (!taken.add(j.id())) {
              duplicates.incrementAndGet();
            }
          }
        }
      }));
    }
    go.countDown();
    for (Thread t : claimers) {
      t.join(TimeUnit.SECONDS.toMillis(90));
    }
    assertEquals(0, duplicates.get(), "a job was claimed twice");
    assertEquals(jobs, taken.size());
    assertEquals(0, a.sharedQueueDepth());
    try (Connection c = admin(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT count(DISTINCT owner), count(*) FROM jobs WHERE owner IS NOT NULL AND state = 'QUEUED'")) {
      r.next();
      assertEquals(2, r.getInt(1), "both services took jobs");
      assertEquals(jobs, r.getInt(2));
    }

    // A service that stops gives back the jobs it claimed and never started, and leaves no thread.
    Recorder heardByA = new Recorder();
    a.listen(heardByA);
    int heard = heardByA.jobsAvailable.get();
    b.close();
    long givenBack = a.sharedQueueDepth();
    assertTrue(givenBack > 0 && givenBack < jobs, "B gave back what it held: " + givenBack);
    Await.until("A hears that jobs are available", Duration.ofSeconds(5), () -> heardByA.jobsAvailable.get() > heard);
    assertEquals(List.of("A"), a.services().stream().map(ServiceRecord::name).toList());
    a.close();
    assertEquals(jobs, countWhere("owner IS NULL AND state = 'QUEUED'"));
    assertEquals(2, countWhere("true", "services") - countWhere("state = 'ALIVE'", "services"), "both are STOPPED");
    Await.until("no store thread is left", Duration.ofSeconds(10), () -> Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.isAlive() && t.getName().startsWith("offload-store")));
  }

  @Test
  void idempotencyKey_heldByAnotherServicesJob_isTaken() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    PostgresStore b = open("B", Duration.ofSeconds(10));
    long first = a.newId();
    assertNull(commit(c -> a.accepted(keyed(first, "order-17"), c)));
    long second = b.newId();
    StoreException taken = commit(c -> b.accepted(keyed(second, "order-17"), c));
    assertInstanceOf(KeyTakenException.class, taken);
    assertEquals(first, ((KeyTakenException) taken).holder().id());
    assertTrue(b.find(second).isEmpty(), "nothing of the second job is kept");
    assertNull(commit(c -> b.accepted(keyed(b.newId(), "order-18"), c)), "another key is free");
  }

  @Test
  void finishedJobs_prunedTo_keepFinished() throws Exception {
    PostgresStore a = new PostgresStore((StoreUrl.Postgresql) StoreUrl.parse(pg.url()), member("A", Duration.ofSeconds(10)), 3);
    opened.add(a);
    a.open(Runnable::run, n -> {});
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      long id = a.newId();
      ids.add(id);
      JobRecord running = job(id, JobState.RUNNING, 0);
      assertNull(commit(c -> a.accepted(running, c)));
      assertNull(commit(c -> a.ended(running.withState(JobState.SUCCEEDED), c)));
    }
    a.heartbeatNow();
    assertEquals(3, a.jobsKept());
    assertEquals(ids.subList(5, 8), a.list(null, 10).reversed().stream().map(JobRecord::id).toList(), "the newest ends are kept");
  }

  /**
   * A new id from the store, taken again while it is refused: newId never waits for the
   * database, and refuses when its next block of ids has not come yet (this loop takes ids far
   * faster than any service accepts jobs). Bounded: ten seconds without a block fails.
   */
  private static long nextId(PostgresStore store) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        return store.newId();
      } catch (StoreException refused) {
        if (System.nanoTime() > deadline) {
          throw refused;
        }
        Thread.onSpinWait();
      }
    }
  }

  @Test
  void idsFromTwoServices_areUnique() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    PostgresStore b = open("B", Duration.ofSeconds(10));
    Set<Long> ids = ConcurrentHashMap.newKeySet();
    AtomicInteger repeated = new AtomicInteger();
    List<Thread> takers = new ArrayList<>();
    for (PostgresStore s : List.of(a, b)) {
      takers.add(Thread.ofPlatform().start(() -> {
        for (int i = 0; i < 3_500; i++) {
          if (!ids.add(nextId(s))) {
            repeated.incrementAndGet();
          }
        }
      }));
    }
    for (Thread t : takers) {
      t.join(TimeUnit.SECONDS.toMillis(60));
    }
    assertEquals(0, repeated.get());
    assertEquals(7_000, ids.size());
    long max = Collections.max(ids);
    assertTrue(Math.max(a.reservedIdsBelow(), b.reservedIdsBelow()) > max, "ids handed out are below the reservation");
  }

  @Test
  void lostLease_rescuedByAnother_lateWritesFenced() throws Exception {
    // A's lease is long, so that it does not renew it during the test: its expiry is made by hand.
    PostgresStore a = open("A", Duration.ofSeconds(60));
    Recorder heardByA = new Recorder();
    a.listen(heardByA);
    PostgresStore b = open("B", Duration.ofSeconds(3));
    Recorder heardByB = new Recorder();
    b.listen(heardByB);

    long retry = a.newId();
    long noRetry = a.newId();
    JobRecord retryRunning = job(retry, JobState.RUNNING, 1);
    JobRecord noRetryRunning = job(noRetry, JobState.RUNNING, 0);
    assertNull(commit(c -> a.accepted(retryRunning, c)));
    assertNull(commit(c -> a.accepted(noRetryRunning, c)));

    try (Connection c = admin(); Statement s = c.createStatement()) {
      assertEquals(1, s.executeUpdate("UPDATE services SET expires_at = now() - interval '1 s' WHERE name = 'A' AND state = 'ALIVE'"));
    }
    // B rescues once its own heartbeats have held for its lease (3 s).
    Await.until("B settles A's jobs", Duration.ofSeconds(20),
        () -> b.find(noRetry).orElseThrow().state() == JobState.FAILED && b.find(retry).orElseThrow().state() == JobState.QUEUED);
    JobRecord lost = b.find(noRetry).orElseThrow();
    assertEquals(Recovery.SERVICE_LOST, lost.errorCode());
    assertTrue(lost.errorMessage().contains("the service A was lost"), lost.errorMessage());
    Await.until("B's listener hears of the SERVICE_LOST end", Duration.ofSeconds(5), () -> heardByB.ended.contains(noRetry));

    List<JobRecord> claimed = b.claim(10);
    assertEquals(List.of(retry), claimed.stream().map(JobRecord::id).toList());

    JobRecord lateFromA = new JobRecord(retry, "echo", JobState.SUCCEEDED, "{}", "{\"from\":\"A\"}", "", "", 1, 1, 1, 0, 0,
        retryRunning.submittedAtMs(), 1, 0, 5);
    StoreException fenced = commit(c -> a.ended(lateFromA, c));
    assertInstanceOf(FencedException.class, fenced);
    assertEquals(retry, ((FencedException) fenced).ids()[0]);
    assertTrue(fenced.getMessage().contains(pg.url()), fenced.getMessage());

    JobRecord bStarted = new JobRecord(retry, "echo", JobState.RUNNING, "{}", "", "", "", 2, 2, 1, 0, 0, retryRunning.submittedAtMs(),
        System.currentTimeMillis(), 0, 0);
    assertNull(commit(c -> b.started(List.of(bStarted), c)));
    JobRecord fromB = new JobRecord(retry, "echo", JobState.SUCCEEDED, "{}", "{\"from\":\"B\"}", "", "", 2, 2, 1, 0, 0,
        retryRunning.submittedAtMs(), bStarted.startedAtMs(), 0, 5);
    assertNull(commit(c -> b.ended(fromB, c)));
    JobRecord last = a.find(retry).orElseThrow();
    assertEquals("{\"from\":\"B\"}", last.outputJson());
    assertEquals(2, last.attempts());

    // A learns at its next heartbeat that it was declared lost, and goes on under a new lease.
    a.heartbeatNow();
    Await.until("A's listener is told its lease was lost", Duration.ofSeconds(5), () -> heardByA.leaseLost.get() > 0);
    Await.until("both services are alive again", Duration.ofSeconds(5), () -> b.services().size() == 2);
    long next = a.newId();
    assertNull(commit(c -> a.accepted(job(next, JobState.RUNNING, 0), c)), "A records again under its new lease");
  }

  @Test
  void requestStop_queuedEndsNow_heldTellsItsHolder() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    Recorder heardByA = new Recorder();
    a.listen(heardByA);
    PostgresStore b = open("B", Duration.ofSeconds(10));

    long queued = a.newId();
    assertNull(commit(c -> a.accepted(job(queued, JobState.QUEUED, 0), c)));
    assertEquals(SharedStore.StopOutcome.ENDED, b.requestStop(queued, JobState.CANCELLED, "CANCELLED", "cancelled by a test"));
    JobRecord ended = a.find(queued).orElseThrow();
    assertEquals(JobState.CANCELLED, ended.state());
    assertEquals("cancelled by a test", ended.errorMessage());
    Await.until("A hears of the end", Duration.ofSeconds(5), () -> heardByA.ended.contains(queued));
    assertEquals(SharedStore.StopOutcome.NOTHING_TO_STOP, b.requestStop(queued, JobState.CANCELLED, "CANCELLED", "again"));
    assertEquals(SharedStore.StopOutcome.NOTHING_TO_STOP, b.requestStop(123_456_789L, JobState.CANCELLED, "CANCELLED", "none"));

    long held = a.newId();
    assertNull(commit(c -> a.accepted(job(held, JobState.RUNNING, 0), c)));
    long asked = System.nanoTime();
    assertEquals(SharedStore.StopOutcome.HOLDER_TOLD, b.requestStop(held, JobState.TIMED_OUT, "DEADLINE_EXCEEDED", "too late"));
    Await.until("A is told to stop its job, within 1 s", Duration.ofSeconds(1), () -> heardByA.stops.contains(held));
    assertTrue(System.nanoTime() - asked < TimeUnit.SECONDS.toNanos(1));
    assertEquals(JobState.RUNNING, a.find(held).orElseThrow().state(), "the holder ends it, not the asking service");
    JobRecord stopped = new JobRecord(held, "echo", JobState.TIMED_OUT, "{}", "", "DEADLINE_EXCEEDED", "too late", 1, 1, 0, 0, 0,
        1, 1, 0, 3);
    assertNull(commit(c -> a.ended(stopped, c)));
    assertEquals(JobState.TIMED_OUT, b.find(held).orElseThrow().state());
  }

  @Test
  void endsNotified_smallOnesCarriedInTheNotification_largeOnesReadBack() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    Recorder heardByA = new Recorder();
    a.listen(heardByA);
    PostgresStore b = open("B", Duration.ofSeconds(10));
    long small = a.newId();
    long large = a.newId();
    assertNull(commit(c -> a.accepted(job(small, JobState.QUEUED, 0), c)));
    assertNull(commit(c -> a.accepted(job(large, JobState.QUEUED, 0), c)));
    List<JobRecord> claimed = b.claim(2);
    assertEquals(2, claimed.size());

    String bigOutput = "\"" + "x".repeat(20_000) + "\"";
    JobRecord smallEnd = new JobRecord(small, "echo", JobState.FAILED, "{}", "", "BOOM", "it failed,\nwith: this", 7, 1, 0, 0, 0,
        claimed.get(0).submittedAtMs(), claimed.get(0).startedAtMs(), 4, 50);
    JobRecord largeEnd = new JobRecord(large, "echo", JobState.SUCCEEDED, "{}", bigOutput, "", "", 8, 1, 0, 0, 0,
        claimed.get(1).submittedAtMs(), claimed.get(1).startedAtMs(), 5, 51);
    assertNull(commit(c -> b.ended(smallEnd, c)));
    assertNull(commit(c -> b.ended(largeEnd, c)));

    Await.until("A hears of both ends", Duration.ofSeconds(5), () -> heardByA.ended.containsAll(List.of(small, large)));
    JobRecord carried = heardByA.carried.get(small);
    assertEquals(JobState.FAILED, carried.state());
    assertEquals("BOOM", carried.errorCode());
    assertEquals("it failed,\nwith: this", carried.errorMessage());
    assertEquals(7, carried.workerPid());
    assertEquals(1, carried.attempts());
    assertEquals(4, carried.queuedMs());
    assertEquals(50, carried.runMs());
    assertFalse(heardByA.toRead.contains(small), "a carried end needs no read");
    assertTrue(heardByA.toRead.contains(large), "a large end is read back");
    assertFalse(heardByA.carried.containsKey(large));
    assertEquals(bigOutput, a.find(large).orElseThrow().outputJson());
  }

  @Test
  void newerSchema_isRefused_naming_theStore() throws Exception {
    open("A", Duration.ofSeconds(10)).close();
    try (Connection c = admin(); Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE meta SET value = " + (PostgresStore.SCHEMA_VERSION + 1) + " WHERE key = 'schema_version'");
    }
    PostgresStore newer = new PostgresStore((StoreUrl.Postgresql) StoreUrl.parse(pg.url()), member("B", Duration.ofSeconds(10)), 100);
    StoreException refused = assertThrows(StoreException.class, () -> newer.open(Runnable::run, n -> {}));
    assertTrue(refused.getMessage().contains("newer offload"), refused.getMessage());
    assertTrue(refused.getMessage().contains(pg.url()), refused.getMessage());
  }

  @Test
  void threeServicesStartingTogether_migrateOnce() throws Exception {
    List<Thread> starting = new ArrayList<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<PostgresStore> stores = new CopyOnWriteArrayList<>();
    for (String name : List.of("A", "B", "C")) {
      starting.add(Thread.ofPlatform().start(() -> {
        try {
          PostgresStore s = new PostgresStore((StoreUrl.Postgresql) StoreUrl.parse(pg.url()), member(name, Duration.ofSeconds(10)), 100);
          stores.add(s);
          s.open(Runnable::run, n -> {});
        } catch (Throwable t) {
          failures.add(t);
        }
      }));
    }
    for (Thread t : starting) {
      t.join(TimeUnit.SECONDS.toMillis(60));
    }
    opened.addAll(stores);
    assertEquals(List.of(), failures);
    assertEquals(3, stores.getFirst().services().size());
  }

  @Test
  void password_neverLogged_evenAtDebug() throws Exception {
    String secret = "pw-" + Long.toHexString(System.nanoTime()) + "-secret";
    ch.qos.logback.classic.Logger root = logback(org.slf4j.Logger.ROOT_LOGGER_NAME);
    // Everything at debug goes to the capture only (not to the console, which it would flood).
    // com.zaxxer.hikari by name too: a service started earlier in this JVM (a test class before this
    // one) set it to ERROR (see the CLI's Logging.forService), which com.zaxxer's level does not undo.
    List<ch.qos.logback.classic.Logger> loggers = List.of(root, logback("com.zaxxer"), logback("com.zaxxer.hikari"), logback("dev.offload"),
        logback("org.postgresql"));
    List<Level> before = loggers.stream().map(ch.qos.logback.classic.Logger::getLevel).toList();
    List<String> lines = new CopyOnWriteArrayList<>();
    AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent e) {
        lines.add(e.getLoggerName() + " " + e.getFormattedMessage()
            + (e.getThrowableProxy() == null ? "" : ThrowableProxyUtil.asString(e.getThrowableProxy())));
      }
    };
    capture.setContext(root.getLoggerContext());
    capture.start();
    for (ch.qos.logback.classic.Logger l : loggers.subList(1, loggers.size())) {
      l.addAppender(capture);
      l.setAdditive(false);
      l.setLevel(Level.DEBUG);
    }
    root.addAppender(capture); // and what else logs at warn or above
    try {
      PostgresStore a = new PostgresStore((StoreUrl.Postgresql) StoreUrl.parse(pg.url()),
          new ClusterMember("A", "127.0.0.1:1", 2, secret, Duration.ofSeconds(3)), 100);
      opened.add(a);
      a.open(Runnable::run, n -> {});
      assertNull(commit(c -> a.accepted(job(a.newId(), JobState.QUEUED, 0), c)));
      a.heartbeatNow();
      a.close();
      // A store that cannot be reached: its failure's message, and what it logs.
      PostgresStore nowhere = new PostgresStore((StoreUrl.Postgresql) StoreUrl.parse("postgresql://offload@127.0.0.1:1/offload"),
          new ClusterMember("B", "127.0.0.1:1", 2, secret, Duration.ofSeconds(3)), 100);
      StoreException e = assertThrows(StoreException.class, () -> nowhere.open(Runnable::run, n -> {}));
      assertTrue(e.getMessage().contains("cannot reach the job store postgresql://offload@127.0.0.1:1/offload"), e.getMessage());
      for (Throwable t = e; t != null; t = t.getCause()) {
        assertFalse(String.valueOf(t.getMessage()).contains(secret), "the password is in an exception: " + t);
      }
      assertFalse(new ClusterMember("B", "", 2, secret, Duration.ofSeconds(1)).toString().contains(secret));
    } finally {
      for (int i = 0; i < loggers.size(); i++) {
        loggers.get(i).setLevel(before.get(i));
        loggers.get(i).detachAppender(capture);
        loggers.get(i).setAdditive(true);
      }
      capture.stop();
    }
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("com.zaxxer.hikari")), "HikariCP's debug lines were captured: " + lines);
    List<String> leaking = lines.stream().filter(l -> l.contains(secret)).toList();
    assertEquals(List.of(), leaking, "log lines hold the password");
  }

  @Test
  void databaseOutage_writesMadeDuringIt_allCommittedAfter() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(10));
    Recorder heard = new Recorder();
    a.listen(heard);
    long running = a.newId();
    JobRecord runningJob = job(running, JobState.RUNNING, 0);
    assertNull(commit(c -> a.accepted(runningJob, c)));
    long claimed = a.newId();
    assertNull(commit(c -> a.accepted(job(claimed, JobState.RUNNING, 0), c)));
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ids.add(a.newId()); // taken ahead: ids need no database while it is down
    }

    stopServer();
    long stoppedAt = System.nanoTime();
    List<CompletableFuture<StoreException>> accepted = new ArrayList<>();
    for (long id : ids) {
      Done d = new Done();
      a.accepted(job(id, JobState.QUEUED, 0), d);
      accepted.add(d.future);
    }
    Done end = new Done();
    a.ended(new JobRecord(running, "echo", JobState.SUCCEEDED, "{}", "{\"during\":\"outage\"}", "", "", 1, 1, 0, 0, 0,
        runningJob.submittedAtMs(), 1, 0, 9), end);
    Await.until("the store reports the outage", Duration.ofSeconds(10), () -> a.failure() != null);
    // A start is told at once that it is not recorded yet (its job goes to its worker all the same), and kept.
    JobRecord startedDuring = new JobRecord(claimed, "echo", JobState.RUNNING, "{}", "", "", "", 777, 2, 0, 0, 0, 1,
        System.currentTimeMillis(), 0, 0);
    StoreException startFailure = commit(c -> a.started(List.of(startedDuring), c));
    assertTrue(startFailure != null && startFailure.getMessage().contains("cannot be reached"), String.valueOf(startFailure));
    assertTrue(a.failure().getMessage().contains(pg.url()) && a.failure().getMessage().contains("cannot be reached"),
        a.failure().getMessage());
    assertTrue(a.heldWrites() > 0);
    assertFalse(end.future.isDone(), "an end is told only once it is committed");
    int heardBefore = heard.jobsAvailable.get();
    // The outage lasts 5 s, as the test has it: shorter than the lease, so nothing is refused.
    long left = stoppedAt + TimeUnit.SECONDS.toNanos(5) - System.nanoTime();
    if (left > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
    startServer();

    for (CompletableFuture<StoreException> f : accepted) {
      assertNull(f.get(30, TimeUnit.SECONDS), "an acceptance made during a 5 s outage is committed after it");
    }
    assertNull(end.future.get(30, TimeUnit.SECONDS));
    assertNull(a.failure());
    assertEquals(0, a.heldWrites());
    assertEquals(ids.size(), a.find(ids).size());
    assertEquals(JobState.SUCCEEDED, a.find(running).orElseThrow().state());
    assertEquals(777, a.find(claimed).orElseThrow().workerPid(), "the start held through the outage is recorded");
    Await.until("the listener reconnects and says jobs may be available", Duration.ofSeconds(15),
        () -> heard.jobsAvailable.get() > heardBefore);
    Await.until("the listener re-reads the end it missed", Duration.ofSeconds(15), () -> heard.ended.contains(running));
  }

  @Test
  void outageLongerThanTheLease_refusesAcceptances_keepsEnds() throws Exception {
    PostgresStore a = open("A", Duration.ofSeconds(2));
    long running = a.newId();
    JobRecord runningJob = job(running, JobState.RUNNING, 0);
    assertNull(commit(c -> a.accepted(runningJob, c)));
    long refusedId = a.newId();
    stopServer();
    {
      Done accepted = new Done();
      a.accepted(job(refusedId, JobState.QUEUED, 0), accepted);
      Done end = new Done();
      a.ended(runningJob.withState(JobState.SUCCEEDED), end);
      StoreException refusal = accepted.future.get(30, TimeUnit.SECONDS);
      assertTrue(refusal != null && refusal.getMessage().contains("the job was not accepted"), String.valueOf(refusal));
      assertFalse(refusal.diskFull(), "an unreachable database is UNAVAILABLE, not RESOURCE_EXHAUSTED");
      assertTrue(refusal.getMessage().contains(pg.url()), refusal.getMessage());
      assertFalse(end.future.isDone(), "an end is kept until it is committed");
      startServer();
      assertNull(end.future.get(30, TimeUnit.SECONDS));
    }
    assertEquals(JobState.SUCCEEDED, a.find(running).orElseThrow().state());
    assertTrue(a.find(refusedId).isEmpty(), "nothing of a refused job is kept");
  }

  // ---- helpers ----

  private PostgresStore open(String name, Duration lease) {
    PostgresStore s = new PostgresStore((StoreUrl.Postgresql) StoreUrl.parse(pg.url()), member(name, lease), 1_000);
    opened.add(s);
    s.open(Runnable::run, n -> {});
    return s;
  }

  private static ch.qos.logback.classic.Logger logback(String name) {
    return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(name);
  }

  private static JobRecord keyed(long id, String key) {
    return new JobRecord(id, "echo", JobState.QUEUED, "{}", "", "", "", 0, 0, 0, 0, 0, System.currentTimeMillis(), 0, 0, 0, key);
  }

  private static long countWhere(String where) throws SQLException {
    return countWhere(where, "jobs");
  }

  private static long countWhere(String where, String table) throws SQLException {
    try (Connection c = admin(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT count(*) FROM " + table + " WHERE " + where)) {
      r.next();
      return r.getLong(1);
    }
  }

  private static ClusterMember member(String name, Duration lease) {
    return new ClusterMember(name, "127.0.0.1:0", 2, null, lease);
  }

  private static Connection admin() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "offload");
    return DriverManager.getConnection(pg.jdbcUrl(), p);
  }

  private static JobRecord job(long id, JobState state, int retries) {
    boolean running = state == JobState.RUNNING;
    return new JobRecord(id, "echo", state, "{}", "", "", "", running ? 1 : 0, running ? 1 : 0, retries, 0, 0,
        System.currentTimeMillis(), running ? System.currentTimeMillis() : 0, 0, 0);
  }

  /** Makes a write and waits (bounded) for its completion: null once committed. */
  private static StoreException commit(java.util.function.Consumer<Store.Completion> write) throws Exception {
    Done d = new Done();
    write.accept(d);
    return d.future.get(30, TimeUnit.SECONDS);
  }

  private static final class Done implements Store.Completion {
    final CompletableFuture<StoreException> future = new CompletableFuture<>();

    @Override
    public void done(StoreException failure) {
      future.complete(failure);
    }
  }

  private static final class Recorder implements SharedStore.Listener {
    final AtomicInteger jobsAvailable = new AtomicInteger();
    final Set<Long> stops = ConcurrentHashMap.newKeySet();
    /** The ids of ends heard of, to be read back or carried. */
    final Set<Long> ended = ConcurrentHashMap.newKeySet();
    /** The ends that came with their notification, by id. */
    final Map<Long, JobRecord> carried = new ConcurrentHashMap<>();
    /** The ids whose ends were to be read back. */
    final Set<Long> toRead = ConcurrentHashMap.newKeySet();
    final AtomicInteger leaseLost = new AtomicInteger();

    @Override
    public void jobsAvailable() {
      jobsAvailable.incrementAndGet();
    }

    @Override
    public void stopRequested(long id, JobState terminal, String code, String message) {
      stops.add(id);
    }

    @Override
    public void ended(long[] ids) {
      for (long id : ids) {
        toRead.add(id);
        ended.add(id);
      }
    }

    @Override
    public void endedAs(List<JobRecord> ends) {
      for (JobRecord end : ends) {
        carried.put(end.id(), end);
        ended.add(end.id());
      }
    }

    @Override
    public void leaseLost() {
      leaseLost.incrementAndGet();
    }
  }
}
