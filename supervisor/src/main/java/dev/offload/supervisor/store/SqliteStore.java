package dev.offload.supervisor.store;

import dev.offload.proto.v1.JobState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The job store in a SQLite file ({@code sqlite:PATH}), written by one thread of its own, and on
 * a quiet service by the I/O thread too (see {@link #commitHere}).
 *
 * <p><b>Group commit.</b> Writes are queued without a lock; the writer takes every write queued
 * (up to {@link #MAX_GROUP}), applies them in order in one transaction, commits, and hands the
 * group's completions back to the completions executor in one task. While it commits, the next
 * writes queue up, so the busier the service, the more jobs a commit carries. The SQLite file is in
 * WAL mode; {@link Durability} chooses whether a commit is forced to the disk. With {@code process}
 * durability, a write queued on the completions executor's own thread while the writer is idle is
 * committed there instead (see {@link #commitHere}): a lone job then pays its commits, not four
 * thread hand-offs.
 *
 * <p><b>A group's statements.</b> A group is written as the rows it leaves ({@link GroupRows}):
 * each job once, as its last write in the group has it, and each kind of row (inserted, started or
 * queued again, ended) in a few multi-row statements ({@link MultiRowStatement}) rather than one
 * statement a write. Through the JDBC driver a statement's execution costs more than its row.
 *
 * <p><b>What is kept.</b> One row per job, and a few facts ({@code meta}): the next id, the time of
 * the service's last heartbeat (written with the commits, and once a second while idle), and how
 * many jobs had ended at the last pruning (each job ended since carries its place in that count,
 * {@code finished_seq}). Finished jobs beyond {@code keepFinished} are deleted, oldest ending
 * first, every few hundred ends and at open. While open the store deletes them by their ids,
 * which it keeps in the order they ended ({@link EndOrder}) rather than in an index in the file,
 * to which every end would write one more page; the open, once, scans the table instead.
 *
 * <p><b>Schema.</b> Versioned by SQLite's {@code user_version}; each version's migration is a SQL
 * resource ({@code sqlite/V<n>__*.sql}), applied in its own transaction. A store of a newer version
 * than this offload knows is refused, as is a file that is not a SQLite database; neither is
 * written to.
 *
 * <p><b>When it cannot write</b> (a full disk, a read-only file, a failing disk), a group's commit
 * fails and is rolled back. Its acceptances are refused (their completions get a {@link
 * StoreException} that names the store, says what to do, and tells a full disk apart); every other
 * write is kept, in order, and goes again with the next group, or every {@link #RETRY_NANOS} while
 * nothing else comes. A kept start's completion is told the failure at once (its job goes to its
 * worker all the same, so running and queued jobs go on); a kept end's completion waits until the
 * end is committed. The writer logs once when the store starts failing and once when it has
 * recorded again for {@link #CALM_NANOS}, never per retry, and it never ends but at {@link #close},
 * which tries the kept writes a last time and logs the jobs whose changes it could not record.
 *
 * <p>A failure that is not the store's but one write's (SQLite refuses that row, or a fault in
 * this code) is not retried as a whole: the group's writes go again one by one, so that only the
 * write at fault is lost (its completion told why, and logged) and the store goes on.
 */
public final class SqliteStore implements Store {

  private static final Logger LOG = LoggerFactory.getLogger(SqliteStore.class);

  /** The migrations, in order: migration n takes the schema from version n - 1 to n. */
  static final List<String> MIGRATIONS = List.of("V1__jobs.sql", "V2__idempotency_key.sql", "V3__finished_seq_at_pruning.sql",
      "V4__end_order_in_memory.sql");

  /** The schema version this offload writes. */
  public static final int SCHEMA_VERSION = MIGRATIONS.size();

  /** The most writes one transaction carries: bounds a group's latency and its completions' batch. */
  static final int MAX_GROUP = 4_096;

  /**
   * How many ids the store reserves ahead of those it has recorded (see {@link #reservedIdsBelow}):
   * a crash leaves at most this gap in the ids, and a fresh reservation costs one statement per
   * half of it.
   */
  static final long ID_RESERVATION = 10_000;

  /** The longest the writer holds a group back for its jobs' ends: see {@link #holdForEnds}. */
  static final long MAX_HOLD_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  /**
   * The most writes the I/O thread commits itself (see {@link #commitHere}): a lone job's, or two
   * jobs'. More, queued in one turn of the I/O thread, is a busy service: its writer commits them.
   */
  static final int MOST_COMMITTED_HERE = 4;

  /** The most writes a group held back for ends may have: a busy service has larger groups, and no need to wait. */
  static final int ENDS_WORTH_WAITING_FOR = 16;

  /** How often the heartbeat is written while nothing else is. */
  static final long HEARTBEAT_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * How often the writes the store could not commit are tried again while no other write comes
   * (every new write tries them at once): often enough that the service records again within about
   * a second of the disk having room, seldom enough that an outage costs nothing and logs nothing.
   */
  static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * How long the store must commit without a failure for an outage to be over, as far as the log
   * is concerned: it says once that the store fails and once that it records again, not at each
   * flip of a disk that is nearly full.
   */
  static final long CALM_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** The primary result codes that are the store's failure, not one write's: see {@link #cannotWrite}. */
  private static final Set<Integer> STORE_FAILURES = Set.of(SQLiteErrorCode.SQLITE_FULL.code, SQLiteErrorCode.SQLITE_READONLY.code,
      SQLiteErrorCode.SQLITE_IOERR.code, SQLiteErrorCode.SQLITE_CANTOPEN.code, SQLiteErrorCode.SQLITE_BUSY.code,
      SQLiteErrorCode.SQLITE_LOCKED.code, SQLiteErrorCode.SQLITE_NOMEM.code, SQLiteErrorCode.SQLITE_PROTOCOL.code,
      SQLiteErrorCode.SQLITE_CORRUPT.code, SQLiteErrorCode.SQLITE_NOTADB.code, SQLiteErrorCode.SQLITE_PERM.code);

  /** How long {@link #close} waits for the writer to commit what is queued. */
  private static final long CLOSE_WAIT_MILLIS = 10_000;

  private final Path path;
  private final Durability durability;
  private final int keepFinished;
  /** Prune once this many jobs have ended since the last pruning: a delete per group would cost more than it keeps. */
  private final int pruneEvery;
  private final ConcurrentLinkedQueue<Write> queue = new ConcurrentLinkedQueue<>();

  private StoreLock lock;
  private Connection connection;
  private Executor completions;
  private LongConsumer commitNanos;
  private Thread writer;
  /**
   * Set by the writer before it parks, so that a producer knows to wake it, or (on the I/O thread,
   * see {@link #commitHere}) that it may commit in the writer's stead.
   */
  private volatile boolean writerParked;
  /**
   * Held by whoever commits: the writer while it works, or the completions executor's thread
   * while it commits in the writer's stead (see {@link #commitHere}).
   */
  private final ReentrantLock committing = new ReentrantLock();
  /** The completions executor's thread, as its first task found it: the service's I/O thread. */
  private volatile Thread completionsThread;
  /**
   * Whether {@link #commitHere} is asked for and has not run yet: the writes queued by the I/O
   * thread's other tasks meanwhile go with it. Read and written on the completions thread only.
   */
  private boolean commitHereAsked;
  private volatile boolean closing;
  /** Rows in the jobs table, as the writer counts them. */
  private volatile long rows;
  /** Why the last commit failed, while the store cannot write; null while it can. */
  private volatile StoreException failing;
  /** The writes kept after a failed commit, as the writer last counted them: for stats. */
  private volatile int heldWrites;

  /** Ids below this are reserved in the file: {@code meta.next_id} as last committed. */
  private volatile long reservedIdsBelow;
  /**
   * Whether a write of this service was refused or lost (an outage, a bad write, a close while the
   * store could not write): a job may then have run with an id the store never recorded, so a
   * clean close keeps the ids reserved rather than give back those unused.
   */
  private volatile boolean writeLost;

  // The writer's state: read and written only while holding committing (after open).
  /** One past the highest id recorded. */
  private long nextId;
  private long finishedSeq;
  /** The ids of the finished jobs in the file, in the order they ended: what pruning deletes. */
  private final EndOrder endOrder = new EndOrder();
  private long endedSincePrune;
  private long lastHeartbeatNanos;
  /**
   * The writes taken from the queue and not yet committed, in order. Its first {@link #kept} are
   * those a failed commit kept: they were tried, and wait for the store to write again.
   */
  private final ArrayDeque<Write> backlog = new ArrayDeque<>();
  private int kept;
  /** When the writer last tried a commit: the retry interval counts from it. */
  private long lastAttemptNanos;
  /** How long recent commits took: a moving average, in nanoseconds. */
  private long commitAverageNanos;
  /** Until when the writer holds back a group for the ends of its jobs (see {@link #worthWaitingFor}); 0: it does not. */
  private long holdUntilNanos;
  /**
   * How many writes at the backlog's head go one per transaction: those of a group that failed by
   * the fault of one of them, so that only that one is lost.
   */
  private int isolate;
  /** Whether a failed commit could not begin the next transaction, which the next group must do first. */
  private boolean beginNeeded;
  /** Whether the statements must be prepared again before the next group (after a failed one). */
  private boolean prepareNeeded;
  /** When the outage being logged began (its first failed commit); 0 while there is none. */
  private long outageSinceNanos;
  private long lastFailureNanos;
  /** The failure the log last told of, so that the same one is not told again. */
  private String loggedFailure;
  private long failedCommits;
  private long refusedWhileFailing;
  private MultiRowStatement<GroupRows.Row> insertRows;
  /** Takes a key off an older row (see where it is used). */
  private PreparedStatement releaseKey;
  private MultiRowStatement<JobRecord> restateRows;
  private MultiRowStatement<GroupRows.Row> endRows;
  private PreparedStatement setMeta;
  private MultiRowStatement<Long> deleteRows;

  /**
   * @param path the database file; made, with its directory, if it is not there
   * @param keepFinished how many finished jobs to keep
   */
  public SqliteStore(Path path, Durability durability, int keepFinished) {
    this.path = path.toAbsolutePath();
    this.durability = durability;
    this.keepFinished = keepFinished;
    this.pruneEvery = Math.max(100, Math.min(keepFinished / 10, 10_000));
  }

  @Override
  public String kind() {
    return "sqlite";
  }

  @Override
  public String url() {
    return "sqlite:" + path;
  }

  /** The database file. */
  public Path path() {
    return path;
  }

  @Override
  public boolean recordsNothing() {
    return false;
  }

  @Override
  public synchronized Recovery open(Executor completions, LongConsumer commitNanos) {
    if (connection != null) {
      throw new IllegalStateException(this + " is open already");
    }
    this.completions = completions;
    this.commitNanos = commitNanos;
    makeDirectory();
    lock = StoreLock.take(path);
    try {
      connection = connect();
      migrate();
      Recovery recovery = recover();
      prepare();
      completions.execute(() -> completionsThread = Thread.currentThread());
      writer = Thread.ofPlatform().name("offload-store-writer").daemon(true).unstarted(this::writeLoop);
      writer.start();
      return recovery;
    } catch (StoreException e) {
      closeQuietly();
      throw e;
    } catch (SQLException e) {
      closeQuietly();
      throw new StoreException("cannot open the job store " + path + ": " + e.getMessage() + "; if the file is damaged, move it"
          + " away (it is left as it is) and start again, or give serve another --store", e);
    }
  }

  private void makeDirectory() {
    Path dir = path.getParent();
    if (dir != null && !Files.isDirectory(dir)) {
      try {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (IOException e) {
        throw new StoreException("cannot make the job store's directory " + dir + ": " + e + "; give serve another --store");
      }
    }
    if (Files.exists(path) && !Files.isRegularFile(path)) {
      throw new StoreException("the job store " + path + " is not a file; give serve another --store");
    }
    if (Files.exists(path) && !Files.isReadable(path)) {
      throw new StoreException("cannot read the job store " + path + "; check its permissions, or give serve another --store");
    }
  }

  /** Opens the file and checks, before anything is written, that it is a SQLite database this offload can read. */
  private Connection connect() throws SQLException {
    SqliteNative.prepare();
    SQLiteConfig config = new SQLiteConfig();
    // Else the driver follows every insert with a SELECT last_insert_rowid() of its own (a new
    // statement, prepared each time) for getGeneratedKeys, which nothing here calls: the store
    // gives the ids. Measured at in-flight 256: a third of the time the writer spent executing
    // statements.
    config.setGetGeneratedKeys(false);
    Connection c = config.createConnection("jdbc:sqlite:" + path);
    try (Statement s = c.createStatement()) {
      // This service alone uses the file (StoreLock sees to that): SQLite takes its file locks once
      // and keeps them, where it would take and drop them with fcntl around every transaction, and
      // keeps the WAL's index in its own memory instead of a shared -shm file (which needs this
      // before the WAL is first opened, so before the first read).
      s.execute("PRAGMA locking_mode=EXCLUSIVE");
      int version;
      try (ResultSet r = s.executeQuery("PRAGMA user_version")) {
        version = r.getInt(1);
      } catch (SQLException e) {
        c.close();
        throw new StoreException("the job store " + path + " cannot be read (" + e.getMessage() + "): it is not an offload job"
            + " store, or it is damaged. It was left as it is; move it away to start with an empty store, or give serve"
            + " another --store", e);
      }
      if (version > SCHEMA_VERSION) {
        c.close();
        throw new StoreException("the job store " + path + " was written by a newer offload (schema version " + version
            + "; this offload knows versions up to " + SCHEMA_VERSION + "). It was left as it is: run the newer offload, or"
            + " give serve another --store");
      }
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=" + (durability == Durability.MACHINE ? "FULL" : "NORMAL"));
      // Most writes are small: a larger cache and no checkpoints on the commit path of a large WAL.
      s.execute("PRAGMA cache_size=-16384");
    } catch (StoreException | SQLException e) {
      if (!c.isClosed()) {
        c.close();
      }
      throw e;
    }
    c.setAutoCommit(false);
    return c;
  }

  /** Applies every migration past the file's user_version, each in its own transaction. */
  private void migrate() throws SQLException {
    int version;
    try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery("PRAGMA user_version")) {
      version = r.getInt(1);
    }
    connection.commit();
    for (int next = version + 1; next <= SCHEMA_VERSION; next++) {
      String name = MIGRATIONS.get(next - 1);
      try (Statement s = connection.createStatement()) {
        for (String sql : statements(resource(name))) {
          s.execute(sql);
        }
        s.execute("PRAGMA user_version=" + next);
        connection.commit();
      } catch (SQLException e) {
        connection.rollback();
        throw new StoreException("cannot bring the job store " + path + " to schema version " + next + " (" + name + "): "
            + e.getMessage() + "; it was left at version " + (next - 1), e);
      }
      if (version > 0) {
        LOG.info("job store {} migrated to schema version {}", path, next);
      }
    }
  }

  private static String resource(String name) {
    try (InputStream in = SqliteStore.class.getResourceAsStream("sqlite/" + name)) {
      if (in == null) {
        throw new IllegalStateException("the migration sqlite/" + name + " is missing from offload-supervisor's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the migration sqlite/" + name, e);
    }
  }

  /** A migration's statements: its text without comment lines, split at the semicolons that end lines. */
  static List<String> statements(String script) {
    StringBuilder text = new StringBuilder();
    script.lines().filter(l -> !l.strip().startsWith("--")).forEach(l -> text.append(l).append('\n'));
    List<String> statements = new ArrayList<>();
    for (String part : text.toString().split(";\\s*\n")) {
      if (!part.isBlank()) {
        statements.add(part.strip());
      }
    }
    return statements;
  }

  /**
   * Settles what an earlier service left, in one transaction: running jobs go back to the queue
   * if they have retries left (their attempt stays counted), and otherwise end FAILED with {@link
   * Recovery#SERVICE_LOST}; finished jobs beyond {@code keepFinished} are deleted.
   */
  private Recovery recover() throws SQLException {
    long aliveAt = meta("alive_at_ms");
    nextId = meta("next_id");
    finishedSeq = meta("finished_seq");
    try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery("SELECT COALESCE(MAX(id), 0) FROM jobs")) {
      nextId = Math.max(nextId, r.getLong(1) + 1);
    }
    // The count of ends in meta is written at each pruning only: the jobs that ended since carry theirs.
    try (Statement s = connection.createStatement();
        ResultSet r = s.executeQuery("SELECT COALESCE(MAX(finished_seq), 0) FROM jobs")) {
      finishedSeq = Math.max(finishedSeq, r.getLong(1));
    }
    long now = System.currentTimeMillis();
    int requeued;
    try (PreparedStatement p = connection.prepareStatement(
        "UPDATE jobs SET state = 'QUEUED', worker_pid = 0 WHERE state = 'RUNNING' AND attempts <= retries")) {
      requeued = p.executeUpdate();
    }
    List<long[]> lost = new ArrayList<>();
    try (Statement s = connection.createStatement();
        ResultSet r = s.executeQuery("SELECT id, started_at_ms, attempts, retries FROM jobs WHERE state = 'RUNNING' ORDER BY id")) {
      while (r.next()) {
        lost.add(new long[] {r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)});
      }
    }
    String when = aliveAt > 0 ? Instant.ofEpochMilli(aliveAt).toString() : "an unknown time";
    try (PreparedStatement p = connection.prepareStatement("UPDATE jobs SET state = 'FAILED', error_code = ?, error_message = ?,"
        + " run_ms = ?, finished_seq = ? WHERE id = ?")) {
      for (long[] job : lost) {
        long lostAt = aliveAt > 0 ? aliveAt : now;
        p.setString(1, Recovery.SERVICE_LOST);
        p.setString(2, "the service was lost while the job ran (killed, crashed, or its machine stopped; the job store last"
            + " knew it alive at " + when + "), and the job had no retries left (attempt " + job[2] + ", retries " + job[3]
            + "), so it was not run again");
        p.setLong(3, job[1] > 0 ? Math.max(0, lostAt - job[1]) : 0);
        p.setLong(4, ++finishedSeq);
        p.setLong(5, job[0]);
        p.executeUpdate();
      }
    }
    pruneFinished(connection);
    List<JobRecord> queued = new ArrayList<>();
    try (Statement s = connection.createStatement();
        ResultSet r = s.executeQuery("SELECT * FROM jobs WHERE finished_seq IS NULL ORDER BY id")) {
      while (r.next()) {
        queued.add(JobRecord.read(r));
      }
    }
    List<JobRecord> finished = new ArrayList<>();
    try (PreparedStatement p = connection.prepareStatement(
        "SELECT * FROM jobs WHERE finished_seq IS NOT NULL ORDER BY finished_seq DESC LIMIT ?")) {
      p.setInt(1, keepFinished);
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          finished.add(JobRecord.read(r));
        }
      }
    }
    Collections.reverse(finished);
    endOrder.clear(); // an earlier open of this store that failed may have filled it
    finished.forEach(job -> endOrder.add(job.id()));
    try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery("SELECT COUNT(*) FROM jobs")) {
      rows = r.getLong(1);
    }
    long reserved = nextId + ID_RESERVATION;
    try (PreparedStatement p = connection.prepareStatement("UPDATE meta SET value = ? WHERE key = ?")) {
      setMeta(p, "next_id", reserved);
      setMeta(p, "finished_seq", finishedSeq);
      setMeta(p, "alive_at_ms", now);
    }
    connection.commit();
    reservedIdsBelow = reserved;
    lastHeartbeatNanos = System.nanoTime();
    lastAttemptNanos = lastHeartbeatNanos;
    boolean wasLost = !queued.isEmpty() || !lost.isEmpty();
    if (wasLost) {
      LOG.info("job store {}: the service before this one ended with jobs unfinished (the store last knew it alive at {}): {} jobs"
          + " to run ({} of them were running and go again), {} lost with it (FAILED {}); {} finished jobs kept; ids go on from"
          + " j-{}", path, when, queued.size(), requeued, lost.size(), Recovery.SERVICE_LOST, finished.size(), nextId);
    } else if (!finished.isEmpty()) {
      LOG.info("job store {}: {} finished jobs kept; ids go on from j-{}", path, finished.size(), nextId);
    }
    return new Recovery(nextId, queued, finished, wasLost ? aliveAt : 0, requeued, lost.size());
  }

  private long meta(String key) throws SQLException {
    try (PreparedStatement p = connection.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
      p.setString(1, key);
      try (ResultSet r = p.executeQuery()) {
        if (!r.next()) {
          throw new StoreException("the job store " + path + " lacks its '" + key + "' entry: it is damaged. It was left as it"
              + " is; move it away to start with an empty store, or give serve another --store");
        }
        return r.getLong(1);
      }
    }
  }

  private static void setMeta(PreparedStatement p, String key, long value) throws SQLException {
    p.setLong(1, value);
    p.setString(2, key);
    p.executeUpdate();
  }

  /** Deletes the finished jobs beyond the newest {@code keepFinished}; returns how many. */
  private int pruneFinished(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("DELETE FROM jobs WHERE finished_seq <= ?")) {
      p.setLong(1, finishedSeq - keepFinished);
      return p.executeUpdate();
    }
  }

  private void prepare() throws SQLException {
    insertRows = new MultiRowStatement<>(connection, "INSERT OR REPLACE INTO jobs (id, handler, state, input_json, output_json,"
        + " error_code, error_message, worker_pid, attempts, retries, timeout_ms, deadline_ms, submitted_at_ms, started_at_ms,"
        + " queued_ms, run_ms, finished_seq, idempotency_key) VALUES ", 18, "", SqliteStore::bindInsert);
    releaseKey = connection.prepareStatement("UPDATE jobs SET idempotency_key = NULL WHERE idempotency_key = ? AND id <> ?");
    restateRows = new MultiRowStatement<>(connection, "UPDATE jobs SET state = v.column2, worker_pid = v.column3,"
        + " attempts = v.column4, started_at_ms = v.column5, queued_ms = v.column6 FROM (VALUES ", 6,
        ") AS v WHERE jobs.id = v.column1", "UPDATE jobs SET state = ?2, worker_pid = ?3, attempts = ?4, started_at_ms = ?5,"
        + " queued_ms = ?6 WHERE id = ?1", SqliteStore::bindRestate);
    endRows = new MultiRowStatement<>(connection, "UPDATE jobs SET state = v.column2, output_json = v.column3,"
        + " error_code = v.column4, error_message = v.column5, worker_pid = v.column6, attempts = v.column7,"
        + " started_at_ms = v.column8, queued_ms = v.column9, run_ms = v.column10, finished_seq = v.column11 FROM (VALUES ", 11,
        ") AS v WHERE jobs.id = v.column1", "UPDATE jobs SET state = ?2, output_json = ?3, error_code = ?4, error_message = ?5,"
        + " worker_pid = ?6, attempts = ?7, started_at_ms = ?8, queued_ms = ?9, run_ms = ?10, finished_seq = ?11 WHERE id = ?1",
        SqliteStore::bindEnd);
    setMeta = connection.prepareStatement("UPDATE meta SET value = ? WHERE key = ?");
    deleteRows = new MultiRowStatement<>(connection, "DELETE FROM jobs WHERE id IN (VALUES ", 1, ")",
        "DELETE FROM jobs WHERE id = ?1", (p, first, id) -> p.setLong(first, id));
  }

  /** A job's whole row, as {@link #insertRows} takes it: ended if its place in the order of ends is set. */
  private static void bindInsert(PreparedStatement p, int first, GroupRows.Row row) throws SQLException {
    JobRecord j = row.job();
    p.setLong(first, j.id());
    p.setString(first + 1, j.handler());
    p.setString(first + 2, j.state().name());
    p.setString(first + 3, j.inputJson());
    p.setString(first + 4, j.outputJson());
    p.setString(first + 5, j.errorCode());
    p.setString(first + 6, j.errorMessage());
    p.setLong(first + 7, j.workerPid());
    p.setInt(first + 8, j.attempts());
    p.setInt(first + 9, j.retries());
    p.setLong(first + 10, j.timeoutMs());
    p.setLong(first + 11, j.deadlineMs());
    p.setLong(first + 12, j.submittedAtMs());
    p.setLong(first + 13, j.startedAtMs());
    p.setLong(first + 14, j.queuedMs());
    p.setLong(first + 15, j.runMs());
    if (row.finishedSeq() == 0) {
      p.setNull(first + 16, Types.BIGINT);
    } else {
      p.setLong(first + 16, row.finishedSeq());
    }
    p.setString(first + 17, j.idempotencyKey());
  }

  /** What a start, or a return to the queue, changes: as {@link #restateRows} takes it. */
  private static void bindRestate(PreparedStatement p, int first, JobRecord j) throws SQLException {
    p.setLong(first, j.id());
    p.setString(first + 1, j.state().name());
    p.setLong(first + 2, j.workerPid());
    p.setInt(first + 3, j.attempts());
    p.setLong(first + 4, j.startedAtMs());
    p.setLong(first + 5, j.queuedMs());
  }

  /** What an end changes: as {@link #endRows} takes it. */
  private static void bindEnd(PreparedStatement p, int first, GroupRows.Row row) throws SQLException {
    JobRecord j = row.job();
    p.setLong(first, j.id());
    p.setString(first + 1, j.state().name());
    p.setString(first + 2, j.outputJson());
    p.setString(first + 3, j.errorCode());
    p.setString(first + 4, j.errorMessage());
    p.setLong(first + 5, j.workerPid());
    p.setInt(first + 6, j.attempts());
    p.setLong(first + 7, j.startedAtMs());
    p.setLong(first + 8, j.queuedMs());
    p.setLong(first + 9, j.runMs());
    p.setLong(first + 10, row.finishedSeq());
  }

  // ---- writes: queued by any thread, applied by the writer ----

  /** One write: a kind, the job (null: nothing to write), and who waits for it (may be null). */
  record Write(Kind kind, JobRecord job, Completion done) {}

  enum Kind { ACCEPTED, STATE, ENDED }

  @Override
  public void accepted(JobRecord job, Completion done) {
    enqueue(new Write(Kind.ACCEPTED, job, done));
  }

  @Override
  public void started(List<JobRecord> jobs, Completion done) {
    if (jobs.isEmpty()) {
      enqueue(new Write(Kind.STATE, null, done)); // nothing to write; told in order all the same
      return;
    }
    // Writes commit in order: the last one's completion covers them all.
    List<Write> writes = new ArrayList<>(jobs.size());
    for (int i = 0; i < jobs.size(); i++) {
      writes.add(new Write(Kind.STATE, jobs.get(i), i == jobs.size() - 1 ? done : null));
    }
    enqueue(writes);
  }

  @Override
  public void queued(JobRecord job) {
    enqueue(new Write(Kind.STATE, job, null));
  }

  @Override
  public void ended(JobRecord job, Completion done) {
    enqueue(new Write(Kind.ENDED, job, done));
  }

  private void enqueue(Write write) {
    enqueue(List.of(write));
  }

  private void enqueue(List<Write> writes) {
    if (closing) {
      // Told on the completions executor like any other: the caller may hold a lock.
      handBack(writes, new StoreException("the job store " + path + " is closed: the service is stopping"));
      return;
    }
    queue.addAll(writes);
    if (!writerParked) {
      return; // the writer is at work, and takes them with its next group
    }
    if (durability == Durability.PROCESS && Thread.currentThread() == completionsThread) {
      if (!commitHereAsked) {
        // Two turns behind the caller's own task, which may hold a lock and may be about to send the job: see commitHere.
        commitHereAsked = true;
        onCompletionsThread(() -> onCompletionsThread(this::commitHere));
      }
    } else {
      LockSupport.unpark(writer);
    }
  }

  /** Queues a step of {@link #commitHere} on the completions executor; if it is stopping, the writer commits instead. */
  private void onCompletionsThread(Runnable step) {
    try {
      completions.execute(step);
    } catch (RejectedExecutionException stopping) {
      commitHereAsked = false;
      LockSupport.unpark(writer);
    }
  }

  /**
   * Commits what is queued on the completions executor's own thread (the service's I/O thread),
   * asked for there while the writer was idle. With {@code process} durability a commit is a write
   * to the WAL, a few tens of microseconds, less than the two thread hand-offs it saves a lone job:
   * waking the writer, and the writer waking the I/O thread with the completions. A busy service
   * keeps its writer at work, so this does not happen there, and its commits stay off the I/O
   * thread, in groups: more than {@link #MOST_COMMITTED_HERE} writes go to the writer. Runs in a
   * task of its own, so that it holds no caller's lock, and two turns behind the task that queued
   * the write, so that a job sent at once is on its way before its acceptance commits: gRPC's Netty
   * transport writes a stream's messages to the socket in a task it queues (its flush), after the
   * sender's task and after whatever that task queued first. The worker then runs the job while
   * the acceptance commits, and a lone job waits for one commit (its end's), not two. The writer
   * does it instead if it is at work by then, or the store cannot write.
   */
  private void commitHere() {
    commitHereAsked = false;
    if (!committing.tryLock()) {
      LockSupport.unpark(writer); // the writer is at work, or about to be: it takes them
      return;
    }
    try {
      if (!writerParked || closing || failing != null || kept > 0) {
        LockSupport.unpark(writer);
        return;
      }
      takeQueued();
      if (backlog.size() > MOST_COMMITTED_HERE || endedSincePrune + backlog.size() >= pruneEvery) {
        LockSupport.unpark(writer); // a busy service's group, or one that prunes (a delete of hundreds of rows): the writer's
        return;
      }
      if (!backlog.isEmpty()) {
        commitGroup();
      }
      if (!queue.isEmpty() || !backlog.isEmpty()) {
        // More than a group, queued by another thread meanwhile, or a failed group's writes: the writer's.
        LockSupport.unpark(writer);
      }
    } finally {
      committing.unlock();
    }
  }

  /**
   * The writer's loop: moves what is queued to the backlog, in order, and commits the backlog's
   * head in groups. While the store cannot write, the writes it keeps wait at the backlog's head:
   * they go with the next group as soon as another write comes, and are tried alone every {@link
   * #RETRY_NANOS} while none does. The loop ends only when the store closes. It holds {@link
   * #committing} while it works, never while it parks.
   */
  private void writeLoop() {
    boolean triedAtClose = false;
    while (true) {
      long wait;
      committing.lock();
      try {
        takeQueued();
        long now = System.nanoTime();
        endOutageIfCalm(now);
        if (backlog.size() > kept || (failing == null && !backlog.isEmpty())) {
          wait = holdForEnds(now); // writes not tried yet, or kept ones the store can take now
        } else if (closing) {
          if (backlog.isEmpty() || triedAtClose) {
            abandonBacklog();
            return;
          }
          triedAtClose = true; // one last try for what the store could not write
          wait = 0;
        } else if (failing != null) {
          wait = lastAttemptNanos + RETRY_NANOS - now; // kept writes, or the heartbeat, tried again in a while
        } else {
          wait = lastHeartbeatNanos + HEARTBEAT_NANOS - now; // the heartbeat alone, when it is due
        }
        if (wait <= 0) {
          commitGroup();
          continue;
        }
      } finally {
        committing.unlock();
      }
      writerParked = true;
      if (queue.isEmpty() && !closing) {
        LockSupport.parkNanos(this, wait);
      }
      writerParked = false;
    }
  }

  /** Moves what is queued to the backlog, in order, up to a group's worth. */
  private void takeQueued() {
    while (backlog.size() < MAX_GROUP) {
      Write w = queue.poll();
      if (w == null) {
        return;
      }
      backlog.add(w);
    }
  }

  /** Commits the backlog's head: a group, or one write while those of a failed group go one by one. */
  private void commitGroup() {
    int most = isolate > 0 ? 1 : MAX_GROUP;
    List<Write> group = new ArrayList<>(Math.min(backlog.size(), most));
    while (group.size() < most && !backlog.isEmpty()) {
      group.add(backlog.pollFirst());
    }
    commit(group);
  }

  /**
   * With {@code machine} durability, holds back a group made only of jobs sent to a worker as they
   * were accepted, for their ends, for at most one commit's time (as PostgreSQL's commit_delay
   * does): a short job's acceptance and end then share one fsync instead of paying one each, and
   * the wait costs at most what it may save. Nobody waits for such an acceptance but a {@code
   * submit}'s acknowledgement; a job's end, and anything else, goes at once. (With {@code process}
   * durability a commit costs less than the timer such a wait needs on the I/O thread: measured,
   * a 200 µs hold saved nothing there.)
   *
   * @return how long the writer should wait (it parks until a write comes or the time is up); 0:
   *     commit now
   */
  private long holdForEnds(long now) {
    if (durability != Durability.MACHINE || failing != null || closing || isolate > 0 || !worthWaitingFor()) {
      holdUntilNanos = 0;
      return 0;
    }
    if (holdUntilNanos == 0) {
      holdUntilNanos = now + Math.min(commitAverageNanos, MAX_HOLD_NANOS);
    }
    if (now >= holdUntilNanos) {
      holdUntilNanos = 0;
      return 0;
    }
    return holdUntilNanos - now;
  }

  /**
   * Whether the backlog holds only acceptances of jobs sent at once (RUNNING) and ends of those
   * same jobs, with at least one end still to come.
   */
  private boolean worthWaitingFor() {
    if (backlog.isEmpty() || backlog.size() > ENDS_WORTH_WAITING_FOR || kept > 0) {
      return false;
    }
    Set<Long> running = new HashSet<>();
    for (Write w : backlog) {
      switch (w.kind()) {
        case ACCEPTED -> {
          if (w.job().state() != JobState.RUNNING || w.job().idempotencyKey() != null) {
            return false; // queued, or sent only once this commits (a job with a key)
          }
          running.add(w.job().id());
        }
        case ENDED -> {
          if (!running.remove(w.job().id())) {
            return false; // the end of a job accepted earlier: its client waits for it
          }
        }
        default -> {
          return false;
        }
      }
    }
    return !running.isEmpty();
  }

  /**
   * The service gives a key to a new job only once it has forgotten the job that had it (pruned
   * past --keep-finished); this file prunes later, and may hold that job still: it keeps its row,
   * without the key. (REPLACE would delete the row instead.)
   */
  private void releaseKeyOf(JobRecord j) throws SQLException {
    if (j.idempotencyKey() != null) {
      releaseKey.setString(1, j.idempotencyKey());
      releaseKey.setLong(2, j.id());
      releaseKey.executeUpdate();
    }
  }

  /**
   * Numbers a group's ends again, in order, counting only the jobs that have a row, and adds those
   * to the order of ends. Rare: the end of a job whose acceptance the store never recorded
   * (refused while it could not write) updates no row; its number would be a gap in the count of
   * ends, and its id a place in the order of ends that no row takes.
   */
  private void renumberEnds(List<GroupRows.Row> ends) throws SQLException {
    int numbered = 0;
    try (PreparedStatement p = connection.prepareStatement("UPDATE jobs SET finished_seq = ? WHERE id = ?")) {
      for (GroupRows.Row row : ends) {
        p.setLong(1, finishedSeq + numbered + 1);
        p.setLong(2, row.job().id());
        if (p.executeUpdate() > 0) {
          numbered++;
          endOrder.add(row.job().id());
        }
      }
    }
  }

  /**
   * Applies a group in one transaction, commits it, and hands its completions back, in one task;
   * or, if the store cannot write, sorts the group's writes as {@link #failed} says.
   */
  private void commit(List<Write> group) {
    long began = System.nanoTime();
    lastAttemptNanos = began;
    // The writer's counters move with the transaction, and back with its rollback.
    long nextIdBefore = nextId;
    long reserved = reservedIdsBelow; // moves with the transaction: published only once committed
    long finishedSeqBefore = finishedSeq;
    long endedSincePruneBefore = endedSincePrune;
    long heartbeatBefore = lastHeartbeatNanos;
    int endOrderBefore = endOrder.size();
    long rowsChange = 0;
    try {
      if (beginNeeded) {
        begin();
      }
      if (prepareNeeded) {
        closeStatements();
        prepare();
        prepareNeeded = false;
      }
      GroupRows rows = GroupRows.of(group, finishedSeq);
      rowsChange += insertRows.execute(rows.inserted);
      for (GroupRows.Row row : rows.insertedWithKey) {
        releaseKeyOf(row.job());
        rowsChange += insertRows.execute(List.of(row));
      }
      restateRows.execute(rows.restated);
      if (endRows.execute(rows.ended) < rows.ended.size()) {
        renumberEnds(rows.endsInOrder);
      } else {
        rows.endsInOrder.forEach(row -> endOrder.add(row.job().id()));
      }
      int ends = endOrder.size() - endOrderBefore;
      finishedSeq += ends;
      endedSincePrune += ends;
      nextId = Math.max(nextId, rows.maxInsertedId + 1);
      if (nextId + ID_RESERVATION / 2 > reserved) {
        reserved = nextId + ID_RESERVATION;
        setMeta(setMeta, "next_id", reserved);
      }
      int pruned = 0;
      if (endedSincePrune >= pruneEvery) {
        pruned = Math.max(0, endOrder.size() - keepFinished);
        rowsChange -= deleteRows.execute(endOrder.oldest(pruned));
        // Not with every end: a page more in every commit. The open reads the highest a job carries,
        // and this, which outlives the jobs pruned (all of them, with --keep-finished 0).
        setMeta(setMeta, "finished_seq", finishedSeq);
        endedSincePrune = 0;
      }
      long now = System.nanoTime();
      if (now - lastHeartbeatNanos >= HEARTBEAT_NANOS / 2) {
        setMeta(setMeta, "alive_at_ms", System.currentTimeMillis());
        lastHeartbeatNanos = now;
      }
      connection.commit();
      reservedIdsBelow = reserved;
      endOrder.removeOldest(pruned);
    } catch (SQLException | RuntimeException e) {
      endOrder.removeNewest(endOrder.size() - endOrderBefore);
      nextId = nextIdBefore;
      finishedSeq = finishedSeqBefore;
      endedSincePrune = endedSincePruneBefore;
      lastHeartbeatNanos = heartbeatBefore;
      rollback(e);
      // The driver finalizes a statement that failed other than busy or by a constraint: all are made again.
      prepareNeeded = true;
      commitNanos.accept(System.nanoTime() - began);
      StoreException failure = cannotWrite(e);
      if (failure == null && !group.isEmpty()) {
        rejected(group, e);
      } else {
        // No write to blame (the heartbeat alone failed): the store's failure, whatever it was.
        failed(group, failure != null ? failure : new StoreException("the job store " + path + " cannot record jobs: " + e
            + "; check the file, and the disk that holds it", e, false));
      }
      return;
    }
    rows += rowsChange;
    long took = System.nanoTime() - began;
    commitNanos.accept(took);
    commitAverageNanos = commitAverageNanos == 0 ? took : (commitAverageNanos * 7 + took) / 8;
    kept = Math.max(0, kept - group.size());
    heldWrites = kept;
    isolate = Math.max(0, isolate - group.size());
    failing = null;
    handBack(group, null);
  }

  /**
   * A group that failed by the fault of a write, not of the store: put back to go one write per
   * transaction; or, for a write alone, that write dropped, its completion told why (an
   * acceptance is refused; an end reaches its clients from memory), and the log told which job's
   * change the store lacks.
   */
  private void rejected(List<Write> group, Exception e) {
    writeLost = true;
    if (group.size() > 1) {
      for (int i = group.size() - 1; i >= 0; i--) {
        backlog.addFirst(group.get(i));
      }
      kept = group.size() + Math.max(0, kept - group.size());
      heldWrites = kept;
      isolate = group.size();
      return;
    }
    Write w = group.getFirst();
    kept = Math.max(0, kept - 1);
    heldWrites = kept;
    isolate = Math.max(0, isolate - 1);
    StoreException failure = new StoreException("the job store " + path + " could not record a change of job"
        + (w.job() == null ? "s" : " j-" + w.job().id()) + " ("
        + w.kind().name().toLowerCase(java.util.Locale.ROOT) + "): " + e + "; the store goes on without it, and the job's state"
        + " in it may be behind what the service shows. Please report this as a bug, with this line", e);
    LOG.error(failure.getMessage(), e);
    handBack(group, failure);
  }

  /**
   * Sorts the writes of a group the store could not commit. Acceptances are refused: their
   * completions are told why, and the writes dropped (their jobs are not accepted, so nothing
   * of them may stay; a later write of such a job updates no row). Every other write is kept, at the backlog's head in its order, and
   * committed once the store can write: a start's completion is told the failure now all the same,
   * so that the job goes to its worker and the pool goes on; an end's completion only once the end
   * is committed, so that no client learns of an end the store does not have.
   */
  private void failed(List<Write> group, StoreException failure) {
    writeLost = true;
    List<Write> keep = new ArrayList<>(group.size());
    List<Write> toldNow = new ArrayList<>();
    int refusedNow = 0;
    for (Write w : group) {
      switch (w.kind()) {
        case ACCEPTED -> {
          toldNow.add(w);
          refusedNow++;
        }
        case STATE -> {
          if (w.done() != null) {
            toldNow.add(w);
          }
          if (w.job() != null) {
            keep.add(new Write(w.kind(), w.job(), null));
          }
        }
        case ENDED -> keep.add(w);
      }
    }
    for (int i = keep.size() - 1; i >= 0; i--) {
      backlog.addFirst(keep.get(i));
    }
    kept = keep.size() + Math.max(0, kept - group.size());
    heldWrites = kept;
    isolate = Math.max(0, isolate - (group.size() - keep.size()));
    failing = failure;
    long now = System.nanoTime();
    lastFailureNanos = now;
    failedCommits++;
    refusedWhileFailing += refusedNow;
    if (outageSinceNanos == 0) {
      outageSinceNanos = now;
      loggedFailure = failure.getMessage();
      LOG.error("{}. Until it can, new jobs are refused, running jobs go on, and the job starts and ends it cannot record are"
          + " held in memory and tried again every {} ms; a job's end reaches its clients once it is recorded. This is logged"
          + " once, and once more when the store has recorded again for {} s", failure.getMessage(),
          TimeUnit.NANOSECONDS.toMillis(RETRY_NANOS), TimeUnit.NANOSECONDS.toSeconds(CALM_NANOS));
    } else if (!failure.getMessage().equals(loggedFailure)) {
      loggedFailure = failure.getMessage(); // another cause: worth a line; the same one again is not
      LOG.error("{} ({} changes held in memory)", failure.getMessage(), kept);
    }
    handBack(toldNow, failure);
  }

  /**
   * Ends an outage once the store has committed for {@link #CALM_NANOS} without a failure, and
   * says so once, with what it cost. Not at the first commit that passes: on a disk with a few
   * bytes free, small commits pass between larger ones that fail, and the log would say so for each.
   */
  private void endOutageIfCalm(long now) {
    if (outageSinceNanos == 0 || failing != null || now - lastFailureNanos < CALM_NANOS) {
      return;
    }
    LOG.info("the job store {} records again: for {} ms until {} s ago, {} commits failed and {} submissions were refused; the"
        + " changes held meanwhile are recorded", path, TimeUnit.NANOSECONDS.toMillis(lastFailureNanos - outageSinceNanos),
        TimeUnit.NANOSECONDS.toSeconds(now - lastFailureNanos), failedCommits, refusedWhileFailing);
    outageSinceNanos = 0;
    loggedFailure = null;
    failedCommits = 0;
    refusedWhileFailing = 0;
  }

  /**
   * Undoes what a failed group wrote and begins the next transaction. SQLite may have rolled the
   * transaction back already (it does on some full-disk and I/O errors), and the driver's own
   * rollback then fails before it begins the next one; so both are done here by hand, and if the
   * begin fails too, it is tried again before the next group, which must never run outside a
   * transaction (its writes would each commit alone).
   */
  private void rollback(Exception failure) {
    try (Statement s = connection.createStatement()) {
      s.execute("ROLLBACK");
    } catch (SQLException noTransaction) {
      // Rolled back by SQLite itself: nothing is left to undo.
    }
    try {
      begin();
    } catch (SQLException e) {
      failure.addSuppressed(e); // kept with the failure, whose cause it shares
      beginNeeded = true;
    }
  }

  private void closeStatements() {
    for (MultiRowStatement<?> m : List.of(insertRows, restateRows, endRows, deleteRows)) {
      m.close();
    }
    for (PreparedStatement p : new PreparedStatement[] {releaseKey, setMeta}) {
      try {
        if (p != null) {
          p.close();
        }
      } catch (SQLException e) {
        // Finalized already, by the driver's handling of its failure.
      }
    }
  }

  private void begin() throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute("BEGIN");
    }
    beginNeeded = false;
  }

  /**
   * Why the store could not write, naming it and what to do, by SQLite's result code (not its
   * words): SQLITE_FULL is a full disk (or the database's page limit), SQLITE_READONLY a file or
   * directory the service may not write, SQLITE_IOERR the disk failing a write or a sync; the
   * store's lock or memory, a damaged or vanished file are the store's failures too. Null for a
   * failure that is one write's fault (SQLite refuses its row: too big, a constraint), or a fault
   * in this code: trying the same write again would fail again.
   */
  private StoreException cannotWrite(Exception e) {
    int code = -1;
    for (Throwable t = e; t != null && code < 0; t = t.getCause()) {
      if (t instanceof SQLiteException sqlite && sqlite.getResultCode() != null && sqlite.getResultCode() != SQLiteErrorCode.UNKNOWN_ERROR) {
        code = sqlite.getResultCode().code;
      } else if (t instanceof SQLException sql && sql.getErrorCode() > 0) {
        code = sql.getErrorCode();
      }
    }
    int primary = code & 0xff; // an extended result code carries its primary one in its low byte
    if (!STORE_FAILURES.contains(primary)) {
      return null;
    }
    String what = e.getMessage();
    String prefix = "the job store " + path + " cannot record jobs: ";
    if (primary == SQLiteErrorCode.SQLITE_FULL.code) {
      return new StoreException(prefix + "its disk is full (" + what + "); free space on the filesystem that holds it", e, true);
    }
    if (primary == SQLiteErrorCode.SQLITE_READONLY.code) {
      return new StoreException(prefix + "it is read-only (" + what + "); make it, the files beside it and its directory writable"
          + " by the service's user", e, false);
    }
    if (primary == SQLiteErrorCode.SQLITE_IOERR.code) {
      return new StoreException(prefix + "the disk failed a write (" + what + "); check the disk that holds it and its free space",
          e, false);
    }
    if (primary == SQLiteErrorCode.SQLITE_CORRUPT.code || primary == SQLiteErrorCode.SQLITE_NOTADB.code) {
      return new StoreException(prefix + "it is damaged (" + what + "); stop the service, move the file away and start again",
          e, false);
    }
    return new StoreException(prefix + what + "; check the file, and the disk that holds it", e, false);
  }

  /**
   * At close: the writes the store could not commit even at the last try. Their completions are
   * told the failure (an end then reaches its clients from memory, as the service stops), and
   * the log names the jobs whose last change the store lacks.
   */
  private void abandonBacklog() {
    if (backlog.isEmpty()) {
      return;
    }
    writeLost = true;
    StoreException failure = failing != null ? failing
        : new StoreException("the job store " + path + " is closed: the service is stopping");
    Set<String> jobs = new LinkedHashSet<>();
    for (Write w : backlog) {
      if (w.job() != null) {
        jobs.add("j-" + w.job().id());
      }
    }
    LOG.error("the job store {} could not record {} changes before the service stopped, of jobs {}: {}. At the next start, those"
        + " it last knew queued run, and those it last knew running run again if they have retries left, else end FAILED {}",
        path, backlog.size(), jobs, failure.getMessage(), Recovery.SERVICE_LOST);
    List<Write> lost = new ArrayList<>(backlog);
    backlog.clear();
    kept = 0;
    heldWrites = 0;
    handBack(lost, failure);
  }

  private void handBack(List<Write> group, StoreException failure) {
    List<Completion> waiting = new ArrayList<>();
    for (Write w : group) {
      if (w.done() != null) {
        waiting.add(w.done());
      }
    }
    if (waiting.isEmpty()) {
      return;
    }
    Runnable task = () -> {
      for (Completion c : waiting) {
        try {
          c.done(failure);
        } catch (RuntimeException e) {
          LOG.error("a job store completion failed", e);
        }
      }
    };
    try {
      completions.execute(task);
    } catch (RuntimeException rejected) {
      task.run(); // the I/O thread is gone (the service is stopping): run them here
    }
  }

  @Override
  public long reservedIdsBelow() {
    return reservedIdsBelow;
  }

  @Override
  public long sizeBytes() {
    long size = 0;
    for (String suffix : new String[] {"", "-wal"}) {
      try {
        size += Files.size(path.resolveSibling(path.getFileName() + suffix));
      } catch (IOException absent) {
        // no WAL: nothing written since the last checkpoint
      }
    }
    return size;
  }

  @Override
  public long jobsKept() {
    return rows;
  }

  @Override
  public StoreException failure() {
    return failing;
  }

  @Override
  public int heldWrites() {
    return heldWrites;
  }

  /** For tests: whether the writer is parked. */
  boolean writerParked() {
    return writerParked;
  }

  /**
   * For tests: sets a SQLite pragma on the writer's connection, to make writes fail as a full disk
   * ({@code max_page_count=1}: SQLITE_FULL for a write that needs another page) or a read-only
   * file ({@code query_only=1}: SQLITE_READONLY) would, and to undo that. Runs on the caller's
   * thread, on the writer's connection, which SQLite serializes.
   *
   * @param assignment such as {@code max_page_count=1}
   */
  void pragma(String assignment) throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute("PRAGMA " + assignment);
    }
  }

  @Override
  public void close() {
    Thread w;
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
      w = writer;
    }
    if (w != null) {
      LockSupport.unpark(w);
      try {
        w.join(CLOSE_WAIT_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (w.isAlive()) {
        LOG.error("the job store {} did not commit its last writes within {} ms; closing it anyway", path, CLOSE_WAIT_MILLIS);
        return; // the connection is the writer's; the process's end releases the lock
      }
    }
    // After the writer, the completions executor's thread may still be in a commit of its own.
    committing.lock();
    try {
      closeConnection();
    } finally {
      committing.unlock();
    }
  }

  private void closeConnection() {
    // A write queued as the writer saw the queue empty for the last time: told, not left waiting.
    StoreException closed = new StoreException("the job store " + path + " is closed: the service is stopping");
    boolean allRecorded = !writeLost;
    for (Write late = queue.poll(); late != null; late = queue.poll()) {
      allRecorded = false;
      if (late.done() != null) {
        late.done().done(closed);
      }
    }
    try {
      if (connection != null) {
        try (PreparedStatement p = connection.prepareStatement("UPDATE meta SET value = ? WHERE key = ?")) {
          setMeta(p, "alive_at_ms", System.currentTimeMillis());
          if (allRecorded) {
            // Every job that went to a worker is recorded: the next service gives the ids reserved and unused.
            setMeta(p, "next_id", nextId);
          }
        }
        connection.commit();
      }
    } catch (SQLException e) {
      LOG.warn("the job store {} could not record its last heartbeat: {}", path, e.getMessage());
    }
    closeQuietly();
  }

  private void closeQuietly() {
    try {
      if (connection != null) {
        connection.close();
      }
    } catch (SQLException e) {
      LOG.warn("closing the job store {}: {}", path, e.getMessage());
    }
    connection = null;
    if (lock != null) {
      lock.close();
      lock = null;
    }
  }

  @Override
  public String toString() {
    return "job store " + url();
  }
}
