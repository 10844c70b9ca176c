package dev.offload.supervisor.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.offload.proto.v1.JobState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntSupplier;
import java.util.function.LongConsumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job store in a PostgreSQL database ({@code postgresql://[USER@]HOST[:PORT]/DB}), which
 * several services share: one offload cluster (see {@link SharedStore}).
 *
 * <p><b>Threads.</b> Writes are committed in groups by one writer thread, as in {@link
 * SqliteStore}, on a small connection pool (HikariCP). A heartbeat thread renews this service's
 * lease every third of it, rescues the jobs of services whose lease expired, and prunes finished
 * jobs. A listener thread holds a connection of its own outside the pool, LISTENs on {@value
 * #JOBS_CHANNEL}, {@value #STOP_CHANNEL} and {@value #ENDED_CHANNEL}, and tells the {@link
 * SharedStore.Listener}. All three are platform daemon threads, and end at {@link #close}.
 *
 * <p><b>Fencing.</b> Every write about a job names the claim this service holds it under, {@code
 * (owner, claim_token)}, as it was when the write was made; a write whose claim is no longer the
 * row's changes 0 rows and completes with a {@link FencedException}.
 *
 * <p><b>When the database cannot be reached</b>, the writer keeps the group and tries it again, with
 * a growing pause, until it commits. Acceptances wait with it for up to one lease (a restart of the
 * database should not refuse jobs), then are refused; a start's completion is told at once, and the
 * start committed later, in order; an end is kept until it commits. The outage is logged once when
 * it begins and once when it ends.
 *
 * <p><b>Schema.</b> Versioned in {@code meta('schema_version')}; each migration ({@code
 * postgresql/V<n>__*.sql}) runs in one transaction under an advisory lock, so that services starting
 * together migrate once. A newer schema is refused.
 *
 * <p>The password is given to the pool and the listener's connection as a property, never in a
 * URL, and never reaches a log line or an exception message.
 */
public final class PostgresStore implements SharedStore {

  private static final Logger LOG = LoggerFactory.getLogger(PostgresStore.class);

  /** The migrations, in order: migration n takes the schema from version n - 1 to n. */
  static final List<String> MIGRATIONS = List.of("V1__cluster.sql");

  /** The schema version this offload writes. */
  public static final int SCHEMA_VERSION = MIGRATIONS.size();

  /** Jobs were put in the shared queue: services with free workers claim. Empty payload. */
  static final String JOBS_CHANNEL = "offload_jobs";
  /** A stop was asked for a held job. Payload {@code OWNER:ID}: the holder's service row, and the job. */
  static final String STOP_CHANNEL = "offload_stop";
  /**
   * Jobs ended. Payload: each job's end where it is small, else its id to read it back by ({@link
   * EndedPayload}); several notifications when they are many.
   */
  static final String ENDED_CHANNEL = "offload_ended";

  /** The advisory lock the migrations run under ("offload" in ASCII, then 1). */
  static final long MIGRATION_LOCK = 0x6f66666c6f616401L;
  /** The advisory lock one service prunes under at a time. */
  static final long PRUNE_LOCK = 0x6f66666c6f616402L;

  /** How many ids one block of the {@code job_ids} sequence holds (its INCREMENT BY). */
  static final long ID_BLOCK = 1000;

  /** The most writes one transaction carries. */
  static final int MAX_GROUP = 1_024;

  /** The pause between tries of a group the database could not take: it doubles from the first to the last. */
  static final long RETRY_FIRST_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  static final long RETRY_LAST_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** A claim is made only while the lease has at least this much left, by the local clock: a margin for the round trip. */
  static final long LEASE_MARGIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** How often the listener checks its connection (and notes the last end it has seen) while no notification comes. */
  static final long LISTENER_CHECK_NANOS = TimeUnit.SECONDS.toNanos(2);

  /** How long {@link #close} lets the writer commit what is queued. */
  static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

  private static final int POOL_SIZE = 4;
  private static final long CONNECTION_TIMEOUT_MS = 2_000;

  private final StoreUrl.Postgresql url;
  private final String redactedUrl;
  private final ClusterMember member;
  private final int keepFinished;
  private final long leaseNanos;
  private final String user;

  private HikariDataSource pool;
  private Executor completions;
  private LongConsumer commitNanos;
  private Thread writer;
  private Thread heartbeat;
  private Thread listenerThread;
  private volatile SharedStore.Listener listener;
  private volatile IntSupplier jobsHeld;
  private volatile boolean closing;
  /** Set once the writer is done: the heartbeat and listener stop then. */
  private volatile boolean stopping;

  /** This service's row in {@code services}: a new one after a lost lease. */
  private volatile long serviceId;
  /** When the last heartbeat (or registration) that succeeded was sent, by the local monotonic clock. */
  private volatile long lastHeartbeatNanos;
  /** Since when this service's heartbeats have succeeded without a gap; 0 while they fail. */
  private long heartbeatStreakSince;
  /** A claim whose answer was lost: jobs may be held in the database that this service does not know of. */
  private volatile boolean claimUncertain;
  /** Told to the listener, on its thread: the lease was lost. */
  private volatile boolean leaseLostPending;
  /** The listener was set: it is told once to claim and re-read stops, as after a reconnect. */
  private volatile boolean resyncPending;

  /** The claim each job this service holds is held under, as of the last claim, acceptance or take-back. */
  private final Map<Long, Claim> claims = new ConcurrentHashMap<>();
  /** Claims and the heartbeat's reconciliation of claims do not overlap. */
  private final ReentrantLock claiming = new ReentrantLock();
  /** One heartbeat at a time: the heartbeat thread's, or a test's. */
  private final ReentrantLock heartbeating = new ReentrantLock();
  /** Guarded by {@link #heartbeating}. */
  private Connection heartbeatConnection;

  // ids: blocks of the job_ids sequence
  private long nextId;
  private long idLimit;
  /** A block fetched ahead by the writer: its first id, or 0 if none. */
  private volatile long spareBlock;
  private volatile boolean spareWanted;
  private volatile long reservedIdsBelow;

  // stats, refreshed by the heartbeat
  private volatile long rows;
  private volatile long sizeBytes;

  // writes
  private final ConcurrentLinkedQueue<Write> queue = new ConcurrentLinkedQueue<>();
  private volatile boolean writerParked;
  private volatile StoreException failing;
  private volatile int heldWrites;
  // the writer's own state
  private final ArrayDeque<Write> backlog = new ArrayDeque<>();
  private Connection writerConnection;
  /** Ids whose acceptance was refused: their later writes are told so, not fenced. */
  private final Set<Long> refused = new HashSet<>();
  private int isolate;
  private long outageSinceNanos;
  private long lastAttemptNanos;
  private long retryNanos = RETRY_FIRST_NANOS;
  private long failedCommits;
  private int refusedInOutage;

  /** What a service holds a job under: its service row and the token of its claim. */
  record Claim(long owner, long token) {}

  /** Who holds nothing: matches no row's owner, so a write under it is fenced. */
  private static final Claim NO_CLAIM = new Claim(-1, -1);

  /**
   * @param url the database; its user, or the name of the user running the service if it has none
   * @param member this service's name, address, workers, lease and the database password
   * @param keepFinished how many finished jobs the cluster keeps
   */
  public PostgresStore(StoreUrl.Postgresql url, ClusterMember member, int keepFinished) {
    this.url = url;
    this.redactedUrl = StoreUrl.redact(url.toString());
    this.member = member;
    this.keepFinished = keepFinished;
    this.leaseNanos = member.lease().toNanos();
    this.user = url.user().isEmpty() ? System.getProperty("user.name") : url.user();
    this.jobsHeld = claims::size;
  }

  @Override
  public String kind() {
    return "postgresql";
  }

  @Override
  public String url() {
    return redactedUrl;
  }

  @Override
  public String serviceName() {
    return member.name();
  }

  @Override
  public boolean recordsNothing() {
    return false;
  }

  // ---- open ----

  @Override
  public synchronized Recovery open(Executor completions, LongConsumer commitNanos) {
    if (pool != null) {
      throw new IllegalStateException(this + " is open already");
    }
    this.completions = completions;
    this.commitNanos = commitNanos;
    pool = new HikariDataSource(poolConfig());
    try {
      try (Connection c = pool.getConnection()) {
        migrate(c);
        register(c);
        lastHeartbeatNanos = System.nanoTime();
        heartbeatStreakSince = lastHeartbeatNanos;
        Rescue rescue = rescue(c, false);
        refreshStats(c);
        // The first block of ids now, and the next one by the writer: newId never waits on the database.
        synchronized (this) {
          nextId = fetchBlock();
          idLimit = nextId + ID_BLOCK;
          spareWanted = true;
        }
        writer = Thread.ofPlatform().name("offload-store-writer").daemon(true).unstarted(this::writeLoop);
        heartbeat = Thread.ofPlatform().name("offload-store-heartbeat").daemon(true).unstarted(this::heartbeatLoop);
        listenerThread = Thread.ofPlatform().name("offload-store-listener").daemon(true).unstarted(this::listenLoop);
        writer.start();
        heartbeat.start();
        listenerThread.start();
        LOG.info("job store {}: this service is {} in the cluster (service row {}, lease {} ms){}", redactedUrl, member.name(),
            serviceId, member.lease().toMillis(), rescue.touched() == 0 ? "" : "; " + rescue.describe());
        return new Recovery(1, List.of(), List.of(), rescue.touched() == 0 ? 0 : rescue.lostAtMs, rescue.requeued,
            rescue.failed);
      }
    } catch (StoreException e) {
      pool.close();
      pool = null;
      throw e;
    } catch (SQLException | RuntimeException e) {
      pool.close();
      pool = null;
      throw new StoreException(unreachable(e)
          ? "cannot reach the job store " + redactedUrl + ": " + describe(e) + "; check that the database is up and reachable, and"
              + " that the user and password (--store-password-file or PGPASSWORD) are right"
          : "cannot open the job store " + redactedUrl + ": " + describe(e) + "; check that the user may create tables in the"
              + " database, or give serve another --store", e);
    }
  }

  private HikariConfig poolConfig() {
    HikariConfig config = new HikariConfig();
    config.setPoolName("offload-store");
    config.setJdbcUrl(url.jdbcUrl()); // holds no password, ever: StoreUrl refuses one
    config.setUsername(user);
    if (member.password() != null) {
      config.setPassword(member.password()); // a property of the pool; HikariCP masks it when it logs its configuration
    }
    config.setMaximumPoolSize(POOL_SIZE);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    config.setValidationTimeout(1_000);
    // fail at the first getConnection, with the store's own message, not in the constructor
    config.setInitializationFailTimeout(-1);
    config.setAutoCommit(true);
    for (Map.Entry<Object, Object> p : driverProperties().entrySet()) {
      config.addDataSourceProperty((String) p.getKey(), p.getValue());
    }
    return config;
  }

  /** The driver's properties besides user and password; the URL's own parameters take precedence over them. */
  private Properties driverProperties() {
    Properties p = new Properties();
    p.setProperty("ApplicationName", "offload " + member.name());
    p.setProperty("connectTimeout", "2");
    // A write or a claim that hangs on a cut network is given up after this and tried again.
    p.setProperty("socketTimeout", String.valueOf(Math.max(10, member.lease().toSeconds() * 2)));
    p.setProperty("tcpKeepAlive", "true");
    return p;
  }

  /** Applies every migration past the database's version, each in one transaction under {@link #MIGRATION_LOCK}. */
  private void migrate(Connection c) throws SQLException {
    c.setAutoCommit(false);
    try {
      while (true) {
        try (Statement s = c.createStatement()) {
          s.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
        }
        int version = schemaVersion(c);
        if (version > SCHEMA_VERSION) {
          c.rollback();
          throw new StoreException("the job store " + redactedUrl + " was written by a newer offload (schema version " + version
              + "; this offload knows versions up to " + SCHEMA_VERSION + "). It was left as it is: run the newer offload on"
              + " every service of the cluster, or give serve another --store");
        }
        if (version == SCHEMA_VERSION) {
          c.commit();
          return;
        }
        int next = version + 1;
        String name = MIGRATIONS.get(next - 1);
        try (Statement s = c.createStatement()) {
          for (String sql : SqliteStore.statements(resource(name))) {
            s.execute(sql);
          }
        }
        try (PreparedStatement p = c.prepareStatement("INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
            + " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")) {
          p.setLong(1, next);
          p.executeUpdate();
        } catch (SQLException e) {
          c.rollback();
          throw new StoreException("cannot bring the job store " + redactedUrl + " to schema version " + next + " (" + name + "): "
              + describe(e) + "; it was left at version " + version, e);
        }
        c.commit();
        LOG.info("job store {} migrated to schema version {}", redactedUrl, next);
      }
    } catch (SQLException e) {
      try {
        c.rollback();
      } catch (SQLException ignored) {
        // the connection is gone: nothing to undo on it
      }
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  private static int schemaVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT to_regclass('meta') IS NOT NULL")) {
      r.next();
      if (!r.getBoolean(1)) {
        return 0;
      }
    }
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'")) {
      return r.next() ? (int) r.getLong(1) : 0;
    }
  }

  private static String resource(String name) {
    try (InputStream in = PostgresStore.class.getResourceAsStream("postgresql/" + name)) {
      if (in == null) {
        throw new IllegalStateException("the migration postgresql/" + name + " is missing from offload-supervisor's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the migration postgresql/" + name, e);
    }
  }

  /** Registers this service (again, after a lost lease): a new row in {@code services}, its lease from now. */
  private void register(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO services (name, address, workers, lease_ms, expires_at)"
        + " VALUES (?, ?, ?, ?, now() + make_interval(secs => ? / 1000.0)) RETURNING id")) {
      p.setString(1, member.name());
      p.setString(2, member.address() == null ? "" : member.address());
      p.setInt(3, member.workers());
      p.setLong(4, member.lease().toMillis());
      p.setLong(5, member.lease().toMillis());
      try (ResultSet r = p.executeQuery()) {
        r.next();
        serviceId = r.getLong(1);
      }
    }
  }

  // ---- rescue ----

  /** What a rescue (or this service's own settling at close) did. */
  private record Rescue(List<String> services, long lostAtMs, int requeued, int failed, int stopped, long[] ended) {
    int touched() {
      return requeued + failed + stopped;
    }

    String describe() {
      return "the services " + services + " lost their lease: " + requeued + " of their jobs went back to the shared queue, "
          + failed + " ended FAILED " + Recovery.SERVICE_LOST + " (no retries left), " + stopped + " ended as a stop asked";
    }
  }

  /**
   * Settles the jobs of services whose lease expired (or, at close, this service's own), in one
   * transaction: a job with a stop asked for ends so; one that was claimed but not started, or ran
   * with retries left, goes back to the shared queue; one that ran with none left ends FAILED
   * {@link Recovery#SERVICE_LOST}. The service rows become LOST (STOPPED at close). Every settled
   * job's claim token is raised, so that its old holder's late writes are fenced.
   */
  private Rescue rescue(Connection c, boolean own) throws SQLException {
    String settled = own
        ? "UPDATE services SET state = 'STOPPED' WHERE id = ? RETURNING id, name, heartbeat_at, 'stopped' AS why"
        : "UPDATE services SET state = 'LOST' WHERE state = 'ALIVE' AND expires_at < now() RETURNING id, name, heartbeat_at,"
            + " 'was lost (killed, crashed, cut off from the database, or its machine stopped; the job store last knew it alive at '"
            + " || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || ')' AS why";
    String runMs = "CASE WHEN j.state = 'RUNNING' AND j.started_at_ms > 0"
        + " THEN GREATEST(0, (extract(epoch FROM lost.heartbeat_at) * 1000)::bigint - j.started_at_ms) ELSE j.run_ms END";
    String sql = "WITH lost AS (" + settled + "),"
        + " stopped AS (UPDATE jobs j SET state = j.stop_state, owner = NULL, claim_token = j.claim_token + 1, worker_pid = 0,"
        + "   error_code = j.stop_code, error_message = j.stop_message || '; its service ' || lost.name || ' ' || lost.why"
        + "   || ' before it stopped the job', run_ms = " + runMs + ", finished_seq = nextval('finished_seq')"
        + "   FROM lost WHERE j.owner = lost.id AND j.stop_state <> '' RETURNING j.id),"
        + " requeued AS (UPDATE jobs j SET state = 'QUEUED', owner = NULL, claim_token = j.claim_token + 1, worker_pid = 0"
        + "   FROM lost WHERE j.owner = lost.id AND j.stop_state = '' AND (j.state <> 'RUNNING' OR j.attempts <= j.retries)"
        + "   RETURNING j.id),"
        + " failed AS (UPDATE jobs j SET state = 'FAILED', owner = NULL, claim_token = j.claim_token + 1, worker_pid = 0,"
        + "   error_code = '" + Recovery.SERVICE_LOST + "', error_message = 'the service ' || lost.name || ' ' || lost.why"
        + "   || ' while the job ran, and the job had no retries left (attempt ' || j.attempts || ', retries ' || j.retries"
        + "   || '), so it was not run again', run_ms = " + runMs + ", finished_seq = nextval('finished_seq')"
        + "   FROM lost WHERE j.owner = lost.id AND j.stop_state = '' AND j.state = 'RUNNING' AND j.attempts > j.retries"
        + "   RETURNING j.id)"
        + " SELECT 'S', id, '' FROM stopped UNION ALL SELECT 'R', id, '' FROM requeued UNION ALL SELECT 'F', id, '' FROM failed"
        + " UNION ALL SELECT 'L', (extract(epoch FROM heartbeat_at) * 1000)::bigint, name FROM lost";
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      List<String> services = new ArrayList<>();
      long lostAt = 0;
      int requeued = 0;
      int failed = 0;
      int stopped = 0;
      List<Long> ended = new ArrayList<>();
      try (PreparedStatement p = c.prepareStatement(sql)) {
        if (own) {
          p.setLong(1, serviceId);
        }
        try (ResultSet r = p.executeQuery()) {
          while (r.next()) {
            switch (r.getString(1)) {
              case "S" -> {
                stopped++;
                ended.add(r.getLong(2));
              }
              case "R" -> requeued++;
              case "F" -> {
                failed++;
                ended.add(r.getLong(2));
              }
              default -> {
                services.add(r.getString(3));
                lostAt = Math.max(lostAt, r.getLong(2));
              }
            }
          }
        }
      }
      long[] endedIds = ended.stream().mapToLong(Long::longValue).toArray();
      if (requeued > 0) {
        notify(c, JOBS_CHANNEL, "");
      }
      notifyEnded(c, endedIds);
      c.commit();
      return new Rescue(services, lostAt, requeued, failed, stopped, endedIds);
    } catch (SQLException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException ignored) {
        // the connection is gone: nothing to undo on it
      }
      throw e;
    } finally {
      c.setAutoCommit(auto);
    }
  }

  private static void notify(Connection c, String channel, String payload) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT pg_notify(?, ?)")) {
      p.setString(1, channel);
      p.setString(2, payload);
      p.executeQuery().close();
    }
  }

  /** Notifies {@value #ENDED_CHANNEL} of these ids, whose ends the listeners read back. */
  private static void notifyEnded(Connection c, long[] ids) throws SQLException {
    notifyEnded(c, List.of(), ids);
  }

  /**
   * Notifies {@value #ENDED_CHANNEL} of these ends, carried in the payloads where they are small
   * (see {@link EndedPayload}), and of these ids, in as many payloads as PostgreSQL's limit takes,
   * all in one statement.
   */
  private static void notifyEnded(Connection c, List<JobRecord> ends, long[] ids) throws SQLException {
    if (ends.isEmpty() && ids.length == 0) {
      return;
    }
    List<String> payloads = EndedPayload.encode(ends, ids);
    try (PreparedStatement p = c.prepareStatement("SELECT pg_notify('" + ENDED_CHANNEL + "', payload) FROM unnest(?::text[])"
        + " WITH ORDINALITY AS t (payload, n) ORDER BY n")) {
      p.setArray(1, c.createArrayOf("text", payloads.toArray()));
      p.executeQuery().close();
    }
  }

  // ---- the heartbeat ----

  private void heartbeatLoop() {
    long period = Math.max(TimeUnit.MILLISECONDS.toNanos(100), leaseNanos / 3);
    long next = System.nanoTime() + period;
    while (!stopping) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(this, wait);
        continue;
      }
      next = System.nanoTime() + period;
      heartbeatNow();
    }
  }

  /**
   * One heartbeat: renews the lease (or, if it was lost, registers anew and has the listener told),
   * then, once this service's own heartbeats have succeeded for a full lease, rescues; prunes; and
   * refreshes the figures {@code stats} shows. Runs on the heartbeat thread; tests call it to make
   * a heartbeat happen now.
   */
  void heartbeatNow() {
    heartbeating.lock();
    long sent = System.nanoTime();
    try {
      Connection c = heartbeatConnection();
      int updated;
      try (PreparedStatement p = c.prepareStatement("UPDATE services SET heartbeat_at = now(), expires_at = now()"
          + " + make_interval(secs => lease_ms / 1000.0), jobs_held = ? WHERE id = ? AND state = 'ALIVE'")) {
        p.setInt(1, heldNow());
        p.setLong(2, serviceId);
        updated = p.executeUpdate();
      }
      if (updated == 0) {
        leaseLost(c, sent);
      } else {
        if (heartbeatStreakSince == 0 || sent - lastHeartbeatNanos > leaseNanos) {
          heartbeatStreakSince = sent; // a gap: the streak begins again
        }
        lastHeartbeatNanos = sent;
      }
      if (claimUncertain) {
        reconcileClaims(c);
      }
      // The own-lease rule: after an outage, the first service back must not declare the others
      // lost before they could renew theirs; it rescues only once its own lease has held throughout.
      if (sent - heartbeatStreakSince >= leaseNanos) {
        Rescue r = rescue(c, false);
        if (r.touched() > 0 || !r.services.isEmpty()) {
          LOG.warn("job store {}: {}", redactedUrl, r.describe());
        }
      }
      prune(c);
      refreshStats(c);
    } catch (SQLException | RuntimeException e) {
      heartbeatStreakSince = 0;
      closeQuietly(heartbeatConnection);
      heartbeatConnection = null;
      LOG.debug("job store {}: a heartbeat failed: {}", redactedUrl, describe(e));
    } finally {
      heartbeating.unlock();
    }
  }

  /** The heartbeat's own connection, outside the pool, for the reason {@link #writerConnection} says. */
  private Connection heartbeatConnection() throws SQLException {
    if (heartbeatConnection == null) {
      heartbeatConnection = connectDirect();
    }
    return heartbeatConnection;
  }

  private int heldNow() {
    try {
      return jobsHeld.getAsInt();
    } catch (RuntimeException e) {
      return claims.size();
    }
  }

  private void leaseLost(Connection c, long sent) throws SQLException {
    long old = serviceId;
    claims.values().removeIf(claim -> claim.owner() == old);
    register(c);
    lastHeartbeatNanos = sent;
    heartbeatStreakSince = sent;
    LOG.warn("job store {}: this service's lease expired before it could renew it (a pause, or a cut network), and another"
        + " service settled the jobs it held; their results from here are not recorded. It goes on as service row {} (was {})",
        redactedUrl, serviceId, old);
    leaseLostPending = true;
    wakeListener();
  }

  /**
   * After a claim whose answer was lost: gives back to the shared queue the jobs the database says
   * this service claimed and did not start, and that it does not know it holds.
   */
  private void reconcileClaims(Connection c) throws SQLException {
    claiming.lock();
    try {
      Long[] known = claims.entrySet().stream().filter(e -> e.getValue().owner() == serviceId).map(Map.Entry::getKey)
          .toArray(Long[]::new);
      int back;
      try (PreparedStatement p = c.prepareStatement("UPDATE jobs SET owner = NULL, claim_token = claim_token + 1"
          + " WHERE owner = ? AND state = 'QUEUED' AND NOT (id = ANY (?))")) {
        p.setLong(1, serviceId);
        p.setArray(2, c.createArrayOf("bigint", known));
        back = p.executeUpdate();
      }
      if (back > 0) {
        notify(c, JOBS_CHANNEL, "");
      }
      claimUncertain = false;
    } finally {
      claiming.unlock();
    }
  }

  /** Deletes the finished jobs beyond the newest {@code keepFinished}, one service at a time. */
  private void prune(Connection c) throws SQLException {
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      try (ResultSet r = s.executeQuery("SELECT pg_try_advisory_xact_lock(" + PRUNE_LOCK + ")")) {
        r.next();
        if (!r.getBoolean(1)) {
          c.rollback();
          return;
        }
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM jobs WHERE finished_seq <= (SELECT CASE WHEN is_called"
          + " THEN last_value ELSE 0 END FROM finished_seq) - ?")) {
        p.setLong(1, keepFinished);
        p.executeUpdate();
      }
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  /** Counts the jobs kept and the bytes the store's tables take (indexes included), for {@code stats}. */
  private void refreshStats(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
        "SELECT (SELECT count(*) FROM jobs), pg_total_relation_size('jobs') + pg_total_relation_size('services')")) {
      r.next();
      rows = r.getLong(1);
      sizeBytes = r.getLong(2);
    }
  }

  /** Whether this service's lease is current by the local clock, with a margin: claims are made only then. */
  private boolean leaseCurrent() {
    return System.nanoTime() - lastHeartbeatNanos < leaseNanos - LEASE_MARGIN_NANOS;
  }

  // ---- ids ----

  /**
   * {@inheritDoc}
   *
   * <p>Never waits on the database (it is called on the service's event loop): it takes ids from
   * the block at hand, and the writer fetches the next block as soon as one is taken. If the next
   * one has not come yet (a thousand submissions within one of the writer's round trips, or the
   * database gone), the submission is refused, and may be made again.
   *
   * @throws StoreException if no block of ids is at hand
   */
  @Override
  public synchronized long newId() {
    if (nextId >= idLimit) {
      long block = spareBlock;
      if (block == 0) {
        spareWanted = true;
        wakeWriter();
        throw new StoreException("the job store " + redactedUrl + " has handed out its block of job ids and could not take"
            + " the next one yet (is the database reachable?); submit the job again in a moment");
      }
      spareBlock = 0;
      nextId = block;
      idLimit = block + ID_BLOCK;
      reservedIdsBelow = Math.max(reservedIdsBelow, idLimit);
      spareWanted = true; // the next block, fetched by the writer meanwhile
      wakeWriter();
    }
    return nextId++;
  }

  private long fetchBlock() {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT nextval('job_ids')")) {
      r.next();
      long block = r.getLong(1);
      reservedIdsBelow = Math.max(reservedIdsBelow, block + ID_BLOCK);
      return block;
    } catch (SQLException e) {
      throw failure("take new job ids", e);
    }
  }

  @Override
  public long reservedIdsBelow() {
    return reservedIdsBelow;
  }

  // ---- claims, stops and queries ----

  @Override
  public List<JobRecord> claim(int max) {
    if (max <= 0 || closing || !leaseCurrent()) {
      return List.of();
    }
    claiming.lock();
    try (Connection c = pool.getConnection();
        PreparedStatement p = c.prepareStatement("WITH picked AS MATERIALIZED (SELECT id FROM jobs WHERE state = 'QUEUED'"
            + " AND owner IS NULL ORDER BY submitted_at_ms, id LIMIT ? FOR UPDATE SKIP LOCKED)"
            + " UPDATE jobs j SET owner = ?, claim_token = j.claim_token + 1 FROM picked WHERE j.id = picked.id"
            + " AND EXISTS (SELECT 1 FROM services s WHERE s.id = ? AND s.state = 'ALIVE') RETURNING j.*")) {
      long me = serviceId;
      p.setInt(1, max);
      p.setLong(2, me);
      p.setLong(3, me);
      List<JobRecord> taken = new ArrayList<>();
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          JobRecord job = JobRecord.read(r);
          claims.put(job.id(), new Claim(me, r.getLong("claim_token")));
          taken.add(job);
        }
      }
      taken.sort(Comparator.comparingLong(JobRecord::submittedAtMs).thenComparingLong(JobRecord::id));
      return taken;
    } catch (SQLException e) {
      if (unreachable(e)) {
        // It may have committed with its answer lost: the heartbeat gives such jobs back.
        claimUncertain = true;
        LOG.debug("job store {}: a claim failed: {}", redactedUrl, describe(e));
        return List.of();
      }
      throw failure("claim jobs", e);
    } finally {
      claiming.unlock();
    }
  }

  @Override
  public StopOutcome requestStop(long id, JobState terminal, String code, String message) {
    String sql = "WITH target AS (SELECT id FROM jobs WHERE id = ? AND finished_seq IS NULL FOR UPDATE),"
        + " updated AS (UPDATE jobs j SET stop_state = ?, stop_code = ?, stop_message = ?,"
        + "   state = CASE WHEN j.owner IS NULL THEN ? ELSE j.state END,"
        + "   error_code = CASE WHEN j.owner IS NULL THEN ? ELSE j.error_code END,"
        + "   error_message = CASE WHEN j.owner IS NULL THEN ? ELSE j.error_message END,"
        + "   queued_ms = CASE WHEN j.owner IS NULL"
        + "     THEN GREATEST(0, (extract(epoch FROM now()) * 1000)::bigint - j.submitted_at_ms) ELSE j.queued_ms END,"
        + "   claim_token = CASE WHEN j.owner IS NULL THEN j.claim_token + 1 ELSE j.claim_token END,"
        + "   finished_seq = CASE WHEN j.owner IS NULL THEN nextval('finished_seq') ELSE j.finished_seq END"
        + "   FROM target WHERE j.id = target.id RETURNING j.id, j.owner)"
        + " SELECT id, owner FROM updated";
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        StopOutcome outcome = StopOutcome.NOTHING_TO_STOP;
        try (PreparedStatement p = c.prepareStatement(sql)) {
          p.setLong(1, id);
          p.setString(2, terminal.name());
          p.setString(3, code);
          p.setString(4, message);
          p.setString(5, terminal.name());
          p.setString(6, code);
          p.setString(7, message);
          try (ResultSet r = p.executeQuery()) {
            if (r.next()) {
              long owner = r.getLong(2);
              if (r.wasNull()) {
                notify(c, ENDED_CHANNEL, Long.toString(id));
                outcome = StopOutcome.ENDED;
              } else {
                notify(c, STOP_CHANNEL, owner + ":" + id);
                outcome = StopOutcome.HOLDER_TOLD;
              }
            }
          }
        }
        c.commit();
        return outcome;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw failure("stop job j-" + id, e);
    }
  }

  @Override
  public Optional<JobRecord> find(long id) {
    List<JobRecord> found = find(List.of(id));
    return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
  }

  @Override
  public List<JobRecord> find(Collection<Long> ids) {
    if (ids.isEmpty()) {
      return List.of();
    }
    try (Connection c = pool.getConnection(); PreparedStatement p = c.prepareStatement("SELECT * FROM jobs WHERE id = ANY (?)")) {
      Array array = c.createArrayOf("bigint", ids.toArray(Long[]::new));
      p.setArray(1, array);
      return records(p);
    } catch (SQLException e) {
      throw failure("read jobs", e);
    }
  }

  @Override
  public List<JobRecord> list(JobState state, int limit) {
    String sql = "SELECT * FROM jobs" + (state == null ? "" : " WHERE state = ?") + " ORDER BY submitted_at_ms DESC, id DESC LIMIT ?";
    try (Connection c = pool.getConnection(); PreparedStatement p = c.prepareStatement(sql)) {
      int i = 1;
      if (state != null) {
        p.setString(i++, state.name());
      }
      p.setInt(i, Math.max(0, limit));
      return records(p);
    } catch (SQLException e) {
      throw failure("list jobs", e);
    }
  }

  @Override
  public List<ServiceRecord> services() {
    try (Connection c = pool.getConnection();
        PreparedStatement p = c.prepareStatement("SELECT name, address, workers, jobs_held,"
            + " (extract(epoch FROM heartbeat_at) * 1000)::bigint FROM services WHERE state = 'ALIVE' AND expires_at > now()"
            + " ORDER BY name, id");
        ResultSet r = p.executeQuery()) {
      List<ServiceRecord> services = new ArrayList<>();
      while (r.next()) {
        services.add(new ServiceRecord(r.getString(1), r.getString(2), r.getInt(3), r.getInt(4), r.getLong(5)));
      }
      return services;
    } catch (SQLException e) {
      throw failure("list the cluster's services", e);
    }
  }

  @Override
  public long sharedQueueDepth() {
    try (Connection c = pool.getConnection();
        PreparedStatement p = c.prepareStatement("SELECT count(*) FROM jobs WHERE state = 'QUEUED' AND owner IS NULL");
        ResultSet r = p.executeQuery()) {
      r.next();
      return r.getLong(1);
    } catch (SQLException e) {
      throw failure("count the shared queue", e);
    }
  }

  private static List<JobRecord> records(PreparedStatement p) throws SQLException {
    List<JobRecord> jobs = new ArrayList<>();
    try (ResultSet r = p.executeQuery()) {
      while (r.next()) {
        jobs.add(JobRecord.read(r));
      }
    }
    return jobs;
  }


  /** A failure of a read or a claim, naming the store and what to do. */
  private StoreException failure(String what, SQLException e) {
    return new StoreException(unreachable(e)
        ? "cannot " + what + ": the job store " + redactedUrl + " cannot be reached (" + describe(e) + "); check that the"
            + " database is up and reachable"
        : "cannot " + what + " in the job store " + redactedUrl + ": " + describe(e), e);
  }

  // ---- the listener ----

  @Override
  public void reportHeld(IntSupplier jobsHeld) {
    this.jobsHeld = jobsHeld;
  }

  @Override
  public void listen(SharedStore.Listener listener) {
    this.listener = listener;
    resyncPending = true;
    wakeListener();
  }

  private volatile Connection listening;

  private void wakeListener() {
    Thread t = listenerThread;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  /**
   * The listener's loop: a connection of its own, LISTENing; after each (re)connect it re-syncs,
   * since notifications sent while it was away are lost: it says jobs may be available, re-reads
   * the stops asked for this service's jobs, and the jobs that ended since it last looked.
   */
  private void listenLoop() {
    long seenSeq = -1; // the last finished_seq this listener is sure it was told of (one check behind)
    long checkedSeq = -1;
    long pause = RETRY_FIRST_NANOS;
    boolean lostConnection = false;
    while (!stopping) {
      Connection c = null;
      try {
        c = connectDirect();
        listening = c;
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + JOBS_CHANNEL);
          s.execute("LISTEN " + STOP_CHANNEL);
          s.execute("LISTEN " + ENDED_CHANNEL);
        }
        if (seenSeq < 0) {
          seenSeq = lastFinishedSeq(c);
          checkedSeq = seenSeq;
        } else {
          seenSeq = resync(c, seenSeq);
          checkedSeq = seenSeq;
        }
        if (lostConnection) {
          LOG.info("job store {}: the listener is connected again", redactedUrl);
          lostConnection = false;
        }
        pause = RETRY_FIRST_NANOS;
        PGConnection pg = c.unwrap(PGConnection.class);
        long nextCheck = System.nanoTime() + LISTENER_CHECK_NANOS;
        while (!stopping) {
          SharedStore.Listener l = listener;
          if (l != null && resyncPending) {
            resyncPending = false;
            l.jobsAvailable();
            stopsForMe(c, l);
          }
          if (l != null && leaseLostPending) {
            leaseLostPending = false;
            l.leaseLost();
          }
          PGNotification[] got = pg.getNotifications(250);
          if (got != null && l != null) {
            deliver(c, l, got);
          }
          if (System.nanoTime() >= nextCheck) {
            // Proves the connection alive, and moves the mark of the ends seen: one check behind, so
            // that an end notified just before a lost connection is read again after it.
            long now = lastFinishedSeq(c);
            seenSeq = checkedSeq;
            checkedSeq = now;
            nextCheck = System.nanoTime() + LISTENER_CHECK_NANOS;
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (stopping) {
          break;
        }
        if (!lostConnection) {
          LOG.warn("job store {}: the listener lost its connection ({}); it reconnects, and then reads what it missed",
              redactedUrl, describe(e));
          lostConnection = true;
        }
        LockSupport.parkNanos(this, pause);
        pause = Math.min(RETRY_LAST_NANOS, pause * 2);
      } finally {
        listening = null;
        closeQuietly(c);
      }
    }
  }

  /** A connection outside the pool: the listener's, and the writer's. */
  private Connection connectDirect() throws SQLException {
    Properties p = driverProperties();
    p.setProperty("user", user);
    if (member.password() != null) {
      p.setProperty("password", member.password());
    }
    Connection c = DriverManager.getConnection(url.jdbcUrl(), p);
    c.setAutoCommit(true);
    return c;
  }

  private static long lastFinishedSeq(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT COALESCE(max(finished_seq), 0) FROM jobs WHERE finished_seq IS NOT NULL")) {
      r.next();
      return r.getLong(1);
    }
  }

  /** After a reconnect: tells the listener what it may have missed; returns the last end seen. */
  private long resync(Connection c, long seenSeq) throws SQLException {
    SharedStore.Listener l = listener;
    List<Long> ended = new ArrayList<>();
    long last = seenSeq;
    try (PreparedStatement p = c.prepareStatement("SELECT id, finished_seq FROM jobs WHERE finished_seq > ? ORDER BY finished_seq")) {
      p.setLong(1, seenSeq);
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          ended.add(r.getLong(1));
          last = Math.max(last, r.getLong(2));
        }
      }
    }
    if (l != null) {
      resyncPending = false;
      l.jobsAvailable();
      if (!ended.isEmpty()) {
        l.ended(ended.stream().mapToLong(Long::longValue).toArray());
      }
      stopsForMe(c, l);
    }
    return last;
  }

  /** Tells the listener of every stop asked for a job this service holds and has not ended. */
  private void stopsForMe(Connection c, SharedStore.Listener l) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT id, stop_state, stop_code, stop_message FROM jobs"
        + " WHERE owner = ? AND stop_state <> '' AND finished_seq IS NULL")) {
      p.setLong(1, serviceId);
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          l.stopRequested(r.getLong(1), JobState.valueOf(r.getString(2)), r.getString(3), r.getString(4));
        }
      }
    }
  }

  private void deliver(Connection c, SharedStore.Listener l, PGNotification[] got) throws SQLException {
    boolean jobs = false;
    for (PGNotification n : got) {
      switch (n.getName()) {
        case JOBS_CHANNEL -> jobs = true;
        case ENDED_CHANNEL -> {
          EndedPayload.Decoded ended = EndedPayload.decode(n.getParameter());
          if (!ended.ends().isEmpty()) {
            l.endedAs(ended.ends());
          }
          if (ended.idsToRead().length > 0) {
            l.ended(ended.idsToRead());
          }
        }
        case STOP_CHANNEL -> {
          String payload = n.getParameter();
          int colon = payload.indexOf(':');
          long owner = Long.parseLong(payload.substring(0, colon));
          long id = Long.parseLong(payload.substring(colon + 1));
          if (owner == serviceId) {
            try (PreparedStatement p = c.prepareStatement("SELECT stop_state, stop_code, stop_message FROM jobs"
                + " WHERE id = ? AND owner = ? AND stop_state <> '' AND finished_seq IS NULL")) {
              p.setLong(1, id);
              p.setLong(2, owner);
              try (ResultSet r = p.executeQuery()) {
                if (r.next()) {
                  l.stopRequested(id, JobState.valueOf(r.getString(1)), r.getString(2), r.getString(3));
                }
              }
            }
          }
        }
        default -> {
          // a channel this listener did not ask for
        }
      }
    }
    if (jobs) {
      l.jobsAvailable(); // once for all the notifications of this poll
    }
  }

  // ---- writes: queued by any thread, applied by the writer ----

  private enum Kind { ACCEPTED, STARTED, QUEUED, ENDED }

  /** One write: its jobs, the claim each is written under (null for an acceptance into the shared queue), and who waits. */
  private record Write(Kind kind, List<JobRecord> jobs, Claim[] under, Completion done) {
    Write withoutDone() {
      return new Write(kind, jobs, under, null);
    }
  }

  private Claim claimOf(long id) {
    Claim c = claims.get(id);
    return c == null ? NO_CLAIM : c;
  }

  @Override
  public void accepted(JobRecord job, Completion done) {
    Claim under = null;
    if (job.state() == JobState.RUNNING) {
      under = new Claim(serviceId, 1);
      claims.put(job.id(), under);
    }
    enqueue(new Write(Kind.ACCEPTED, List.of(job), new Claim[] {under}, done));
  }

  @Override
  public void started(List<JobRecord> jobs, Completion done) {
    Claim[] under = new Claim[jobs.size()];
    for (int i = 0; i < under.length; i++) {
      under[i] = claimOf(jobs.get(i).id());
    }
    enqueue(new Write(Kind.STARTED, List.copyOf(jobs), under, done));
  }

  @Override
  public void queued(JobRecord job) {
    enqueue(new Write(Kind.QUEUED, List.of(job), new Claim[] {claimOf(job.id())}, null));
  }

  @Override
  public void ended(JobRecord job, Completion done) {
    // A job this service accepted into the shared queue and never claimed has no claim: its end is
    // recorded only while it is still unowned there.
    enqueue(new Write(Kind.ENDED, List.of(job), new Claim[] {claims.get(job.id())}, done));
  }

  private void enqueue(Write write) {
    if (closing) {
      handBack(List.of(new Told(write.done(), closedFailure())));
      return;
    }
    queue.add(write);
    if (writerParked) {
      LockSupport.unpark(writer);
    }
  }

  private void wakeWriter() {
    Thread w = writer;
    if (w != null && writerParked) {
      LockSupport.unpark(w);
    }
  }

  private StoreException closedFailure() {
    return new StoreException("the job store " + redactedUrl + " is closed: the service is stopping");
  }

  /** A completion and what it is told. */
  private record Told(Completion done, StoreException failure) {}

  private void writeLoop() {
    long closeDeadline = Long.MAX_VALUE;
    while (true) {
      for (Write w = backlog.size() < MAX_GROUP ? queue.poll() : null; w != null; w = backlog.size() < MAX_GROUP ? queue.poll() : null) {
        backlog.add(w);
      }
      if (spareWanted && failing == null) {
        prefetchIds();
      }
      long now = System.nanoTime();
      if (closing && closeDeadline == Long.MAX_VALUE) {
        closeDeadline = now + CLOSE_WAIT_NANOS;
      }
      if (backlog.isEmpty()) {
        if (closing && queue.isEmpty()) {
          closeQuietly(writerConnection);
          return;
        }
        park(Long.MAX_VALUE);
        continue;
      }
      if (closing && now >= closeDeadline) {
        abandonBacklog();
        closeQuietly(writerConnection);
        return;
      }
      if (failing != null) {
        long wait = Math.min(lastAttemptNanos + retryNanos, closeDeadline) - now;
        if (wait > 0 && queue.isEmpty()) {
          park(wait);
          continue;
        }
      }
      int most = isolate > 0 ? 1 : MAX_GROUP;
      List<Write> group = new ArrayList<>(Math.min(backlog.size(), most));
      while (group.size() < most && !backlog.isEmpty()) {
        group.add(backlog.pollFirst());
      }
      commit(group);
    }
  }

  /** Waits for a write, a wanted block of ids, or the time given (at most a second, and 50 ms while closing). */
  private void park(long nanos) {
    writerParked = true;
    boolean idsToFetch = spareWanted && failing == null;
    if (queue.isEmpty() && !idsToFetch) {
      LockSupport.parkNanos(this, Math.min(nanos, closing ? TimeUnit.MILLISECONDS.toNanos(50) : TimeUnit.SECONDS.toNanos(1)));
    }
    writerParked = false;
  }

  private void prefetchIds() {
    try {
      Connection c = writerConnection();
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT nextval('job_ids')")) {
        r.next();
        long block = r.getLong(1);
        reservedIdsBelow = Math.max(reservedIdsBelow, block + ID_BLOCK);
        spareBlock = block;
      }
      c.commit();
    } catch (SQLException e) {
      closeQuietly(writerConnection);
      writerConnection = null;
      LOG.debug("job store {}: could not take the next block of ids ahead: {}", redactedUrl, describe(e));
    }
    spareWanted = false;
  }

  /**
   * The writer's own connection, outside the pool, made again after a failure: a pool that lost
   * its connections in an outage makes new ones with a growing pause (HikariCP's, up to seconds),
   * while the writer must commit as soon as the database answers again.
   */
  private Connection writerConnection() throws SQLException {
    if (writerConnection == null) {
      Connection c = connectDirect();
      c.setAutoCommit(false);
      writerConnection = c;
    }
    return writerConnection;
  }

  private static final String INSERT = "INSERT INTO jobs (id, handler, state, input_json, worker_pid, attempts, retries,"
      + " timeout_ms, deadline_ms, submitted_at_ms, started_at_ms, queued_ms, idempotency_key, owner, claim_token,"
      + " submitted_via, ran_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
  /** Who holds an idempotency key, when an insert found it taken. */
  private static final String KEY_HOLDER = "SELECT * FROM jobs WHERE idempotency_key = ? AND id <> ?";
  private static final String STARTED = "UPDATE jobs SET state = ?, worker_pid = ?, attempts = ?, started_at_ms = ?,"
      + " queued_ms = ?, ran_on = ? WHERE id = ? AND owner = ? AND claim_token = ?";
  private static final String QUEUED = "UPDATE jobs SET state = 'QUEUED', worker_pid = 0, attempts = ?"
      + " WHERE id = ? AND owner = ? AND claim_token = ? AND finished_seq IS NULL";
  /**
   * A held job's end; a second branch finds the end this service committed already (a retry after
   * a commit whose answer was lost) rather than report it fenced.
   */
  private static final String ENDED = "UPDATE jobs SET state = ?, output_json = ?, error_code = ?, error_message = ?,"
      + " worker_pid = ?, attempts = ?, started_at_ms = ?, queued_ms = ?, run_ms = ?, finished_seq = nextval('finished_seq'),"
      + " owner = NULL WHERE id = ? AND ((owner = ? AND claim_token = ?)"
      + " OR (owner IS NULL AND claim_token = ? AND finished_seq IS NOT NULL))";
  private static final String ENDED_UNOWNED = "UPDATE jobs SET state = ?, output_json = ?, error_code = ?, error_message = ?,"
      + " worker_pid = ?, attempts = ?, started_at_ms = ?, queued_ms = ?, run_ms = ?, finished_seq = nextval('finished_seq'),"
      + " claim_token = claim_token + 1 WHERE id = ? AND owner IS NULL AND finished_seq IS NULL";

  /** Applies a group in one transaction and commits it; or sorts it, if the database could not take it. */
  private void commit(List<Write> group) {
    long began = System.nanoTime();
    lastAttemptNanos = began;
    List<Told> told = new ArrayList<>(group.size());
    List<long[]> endedNow = new ArrayList<>();
    try {
      Connection c = writerConnection();
      try {
        apply(c, group, told, endedNow);
        c.commit();
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException ignored) {
          // the connection is gone: the transaction went with it
        }
        throw e;
      }
    } catch (SQLException | RuntimeException e) {
      commitNanos.accept(System.nanoTime() - began);
      if (unreachable(e)) {
        closeQuietly(writerConnection); // made again for the next try
        writerConnection = null;
        outage(group, e);
      } else {
        rejected(group, e);
      }
      return;
    }
    commitNanos.accept(System.nanoTime() - began);
    for (long[] idAndToken : endedNow) {
      claims.remove(idAndToken[0]);
      refused.remove(idAndToken[0]);
    }
    isolate = Math.max(0, isolate - group.size());
    retryNanos = RETRY_FIRST_NANOS;
    if (failing != null) {
      failing = null;
      LOG.info("job store {} reached again: for {} ms, {} commits failed and {} submissions were refused; the {} changes held"
          + " meanwhile are recorded", redactedUrl, TimeUnit.NANOSECONDS.toMillis(began - outageSinceNanos), failedCommits,
          refusedInOutage, heldWrites);
      outageSinceNanos = 0;
      failedCommits = 0;
      refusedInOutage = 0;
    }
    heldWrites = 0;
    handBack(told);
  }

  /**
   * Inserts a run of acceptances as one JDBC batch, and tells each its outcome: committed with the
   * group, or refused because another job of the cluster holds its idempotency key (a row that is
   * there already, this write's own from a commit whose answer was lost, counts as inserted).
   *
   * @return whether any went to the shared queue (its claimers are to be told)
   */
  private boolean accept(List<Write> run, PreparedStatement insert, PreparedStatement keyHolder, List<Told> told)
      throws SQLException {
    boolean jobsQueued = false;
    for (Write w : run) {
      JobRecord j = w.jobs().getFirst();
      Claim under = w.under()[0];
      insert.setLong(1, j.id());
      insert.setString(2, j.handler());
      insert.setString(3, under == null ? j.state().name() : JobState.RUNNING.name());
      insert.setString(4, j.inputJson());
      insert.setLong(5, j.workerPid());
      insert.setInt(6, j.attempts());
      insert.setInt(7, j.retries());
      insert.setLong(8, j.timeoutMs());
      insert.setLong(9, j.deadlineMs());
      insert.setLong(10, j.submittedAtMs());
      insert.setLong(11, j.startedAtMs());
      insert.setLong(12, j.queuedMs());
      insert.setString(13, j.idempotencyKey());
      if (under == null) {
        insert.setNull(14, java.sql.Types.BIGINT);
        insert.setLong(15, 0);
        insert.setString(17, "");
        jobsQueued = true;
      } else {
        insert.setLong(14, under.owner());
        insert.setLong(15, under.token());
        insert.setString(17, member.name());
      }
      insert.setLong(16, serviceId);
      insert.addBatch();
    }
    int[] counts = insert.executeBatch();
    for (int i = 0; i < run.size(); i++) {
      Write w = run.get(i);
      JobRecord j = w.jobs().getFirst();
      StoreException refusal = null;
      // Nothing inserted: the row is there already (this write committed before, its answer lost),
      // or another job of the cluster holds the key (a concurrent insert of it waited for that one
      // to commit): that job is the one the submission follows.
      if (counts[i] == 0 && j.idempotencyKey() != null) {
        keyHolder.setString(1, j.idempotencyKey());
        keyHolder.setLong(2, j.id());
        try (ResultSet r = keyHolder.executeQuery()) {
          if (r.next()) {
            refusal = new KeyTakenException(JobRecord.read(r));
            refused.add(j.id());
            claims.remove(j.id());
          }
        }
      }
      if (w.done() != null) {
        told.add(new Told(w.done(), refusal));
      }
    }
    return jobsQueued;
  }

  /** Runs a group's statements on {@code c}; fills {@code told} with each completion's outcome, in order. */
  private void apply(Connection c, List<Write> group, List<Told> told, List<long[]> endedNow) throws SQLException {
    boolean jobsQueued = false;
    List<JobRecord> endedJobs = new ArrayList<>();
    try (PreparedStatement insert = c.prepareStatement(INSERT); PreparedStatement keyHolder = c.prepareStatement(KEY_HOLDER);
        PreparedStatement started = c.prepareStatement(STARTED); PreparedStatement queuedBack = c.prepareStatement(QUEUED);
        PreparedStatement ended = c.prepareStatement(ENDED); PreparedStatement endedUnowned = c.prepareStatement(ENDED_UNOWNED)) {
      for (int gi = 0; gi < group.size(); gi++) {
        Write w = group.get(gi);
        if (w.kind() == Kind.ACCEPTED) {
          // A run of acceptances goes as one batch: one round trip, not one a job.
          int end = gi;
          while (end < group.size() && group.get(end).kind() == Kind.ACCEPTED) {
            end++;
          }
          jobsQueued |= accept(group.subList(gi, end), insert, keyHolder, told);
          gi = end - 1;
          continue;
        }
        List<Long> fenced = new ArrayList<>();
        StoreException refusal = null;
        for (int i = 0; i < w.jobs().size(); i++) {
          JobRecord j = w.jobs().get(i);
          Claim under = w.under()[i];
          if (w.kind() != Kind.ACCEPTED && refused.contains(j.id())) {
            refusal = new StoreException("the job store " + redactedUrl + " did not record j-" + j.id() + ": its acceptance was"
                + " refused");
            if (w.kind() == Kind.ENDED) {
              endedNow.add(new long[] {j.id()});
            }
            continue;
          }
          switch (w.kind()) {
            case ACCEPTED -> throw new IllegalStateException("acceptances go by accept()");
            case STARTED -> {
              started.setString(1, j.state().name());
              started.setLong(2, j.workerPid());
              started.setInt(3, j.attempts());
              started.setLong(4, j.startedAtMs());
              started.setLong(5, j.queuedMs());
              started.setString(6, member.name());
              started.setLong(7, j.id());
              started.setLong(8, under.owner());
              started.setLong(9, under.token());
              started.addBatch();
            }
            case QUEUED -> {
              queuedBack.setInt(1, j.attempts());
              queuedBack.setLong(2, j.id());
              queuedBack.setLong(3, under.owner());
              queuedBack.setLong(4, under.token());
              if (queuedBack.executeUpdate() == 0) {
                LOG.debug("job store {}: j-{} is no longer this service's; its return to the queue was not recorded", redactedUrl,
                    j.id());
              }
            }
            case ENDED -> {
              PreparedStatement p = under == null ? endedUnowned : ended;
              p.setString(1, j.state().name());
              p.setString(2, j.outputJson());
              p.setString(3, j.errorCode());
              p.setString(4, j.errorMessage());
              p.setLong(5, j.workerPid());
              p.setInt(6, j.attempts());
              p.setLong(7, j.startedAtMs());
              p.setLong(8, j.queuedMs());
              p.setLong(9, j.runMs());
              p.setLong(10, j.id());
              if (under != null) {
                p.setLong(11, under.owner());
                p.setLong(12, under.token());
                p.setLong(13, under.token());
              }
              if (p.executeUpdate() == 0) {
                fenced.add(j.id());
              } else {
                endedJobs.add(j);
              }
              endedNow.add(new long[] {j.id()});
            }
          }
        }
        if (w.kind() == Kind.STARTED && !w.jobs().isEmpty()) {
          int[] counts = started.executeBatch();
          int k = 0;
          for (int i = 0; i < w.jobs().size(); i++) {
            if (refused.contains(w.jobs().get(i).id())) {
              continue;
            }
            if (k < counts.length && counts[k] == 0) {
              fenced.add(w.jobs().get(i).id());
            }
            k++;
          }
        }
        if (w.done() != null) {
          StoreException failure = refusal;
          if (!fenced.isEmpty()) {
            failure = new FencedException("the job store " + redactedUrl + " did not record the " + w.kind().name().toLowerCase(
                java.util.Locale.ROOT) + " of " + ids(fenced) + ": this service no longer holds "
                + (fenced.size() == 1 ? "that job" : "those jobs") + " (its lease expired, or the job was stopped, and it was"
                + " taken over); what became of it is the store's to say", fenced.stream().mapToLong(Long::longValue).toArray());
          }
          told.add(new Told(w.done(), failure));
        } else if (!fenced.isEmpty() && w.kind() == Kind.STARTED) {
          LOG.debug("job store {}: the start of {} was fenced", redactedUrl, ids(fenced));
        }
      }
    }
    if (jobsQueued) {
      notify(c, JOBS_CHANNEL, "");
    }
    notifyEnded(c, endedJobs, new long[0]);
  }

  private static String ids(List<Long> ids) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < ids.size() && i < 20; i++) {
      s.append(i == 0 ? "j-" : ", j-").append(ids.get(i));
    }
    if (ids.size() > 20) {
      s.append(" and ").append(ids.size() - 20).append(" more");
    }
    return s.toString();
  }

  /**
   * A group the database could not take (it is down, restarting, or out of reach): kept at the
   * backlog's head, in order, and tried again after a growing pause. A start's completion is told
   * at once and the start kept; an acceptance waits for up to one lease of outage, then is refused;
   * an end waits until it is committed.
   */
  private void outage(List<Write> group, Exception e) {
    long now = System.nanoTime();
    StoreException failure = new StoreException("the job store " + redactedUrl + " cannot be reached: the database does not"
        + " answer (" + describe(e) + "); check that it is up and reachable from this host", e, false);
    failing = failure;
    failedCommits++;
    if (outageSinceNanos == 0) {
      outageSinceNanos = now;
      LOG.error("{}. Until it answers, its writes are held in memory and tried again, with pauses up to {} ms; new jobs wait"
          + " for up to {} ms (the lease), then are refused. This is logged once, and once more when it answers again",
          failure.getMessage(), TimeUnit.NANOSECONDS.toMillis(RETRY_LAST_NANOS), TimeUnit.NANOSECONDS.toMillis(leaseNanos));
    }
    retryNanos = Math.min(RETRY_LAST_NANOS, retryNanos * 2);
    List<Told> told = new ArrayList<>();
    List<Write> keep = new ArrayList<>(group.size());
    for (Write w : group) {
      if (w.kind() == Kind.STARTED && w.done() != null) {
        told.add(new Told(w.done(), failure));
        keep.add(w.withoutDone());
      } else {
        keep.add(w);
      }
    }
    for (int i = keep.size() - 1; i >= 0; i--) {
      backlog.addFirst(keep.get(i));
    }
    if (now - outageSinceNanos >= leaseNanos) {
      // The outage has lasted a lease: acceptances are refused, theirs and those behind them.
      StoreException refusal = new StoreException("the job store " + redactedUrl + " cannot be reached, and has not been for "
          + TimeUnit.NANOSECONDS.toMillis(now - outageSinceNanos) + " ms (" + describe(e) + "): the job was not accepted; check"
          + " that the database is up and reachable from this host, and submit it again", e, false);
      for (var it = backlog.iterator(); it.hasNext(); ) {
        Write w = it.next();
        if (w.kind() == Kind.ACCEPTED) {
          it.remove();
          refused.add(w.jobs().getFirst().id());
          claims.remove(w.jobs().getFirst().id());
          refusedInOutage++;
          if (w.done() != null) {
            told.add(new Told(w.done(), refusal));
          }
        }
      }
    }
    heldWrites = backlog.size();
    handBack(told);
  }

  /**
   * A group that failed by the fault of one write (the database refused a row), not of the
   * database: put back to go one write per transaction; a write alone is dropped, its completion
   * told why, and the log told which job's change the store lacks.
   */
  private void rejected(List<Write> group, Exception e) {
    if (group.size() > 1) {
      for (int i = group.size() - 1; i >= 0; i--) {
        backlog.addFirst(group.get(i));
      }
      isolate = group.size();
      return;
    }
    isolate = Math.max(0, isolate - 1);
    Write w = group.getFirst();
    StoreException failure = new StoreException("the job store " + redactedUrl + " could not record a change ("
        + w.kind().name().toLowerCase(java.util.Locale.ROOT) + ") of " + ids(w.jobs().stream().map(JobRecord::id).toList())
        + ": " + describe(e) + "; the store goes on without it, and the job's state in it may be behind what the service shows."
        + " Please report this as a bug, with this line", e);
    LOG.error(failure.getMessage(), e);
    if (w.kind() == Kind.ACCEPTED) {
      refused.add(w.jobs().getFirst().id());
    }
    handBack(w.done() == null ? List.of() : List.of(new Told(w.done(), failure)));
  }

  /** At close: the writes the database did not take in time. Their completions are told, and the log names their jobs. */
  private void abandonBacklog() {
    if (backlog.isEmpty()) {
      return;
    }
    StoreException failure = failing != null ? failing : closedFailure();
    Set<Long> jobs = new java.util.TreeSet<>();
    List<Told> told = new ArrayList<>();
    for (Write w : backlog) {
      w.jobs().forEach(j -> jobs.add(j.id()));
      if (w.done() != null) {
        told.add(new Told(w.done(), failure));
      }
    }
    LOG.error("the job store {} could not record {} changes before the service stopped, of jobs {}: {}. Once this service's"
        + " lease expires, another service settles its jobs (re-queued if they have retries left, else FAILED {})", redactedUrl,
        backlog.size(), ids(new ArrayList<>(jobs)), failure.getMessage(), Recovery.SERVICE_LOST);
    backlog.clear();
    heldWrites = 0;
    handBack(told);
  }

  private void handBack(List<Told> told) {
    List<Told> waiting = told.stream().filter(t -> t.done() != null).toList();
    if (waiting.isEmpty()) {
      return;
    }
    Runnable task = () -> {
      for (Told t : waiting) {
        try {
          t.done().done(t.failure());
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

  /**
   * Whether a failure is the database's absence rather than a statement's fault: a connection
   * refused, lost or timed out (SQLSTATE class 08), the server shutting down or starting (57P01,
   * 57P02, 57P03), out of resources (class 53), or a transaction to try again (40001, 40P01).
   */
  static boolean unreachable(Throwable e) {
    if (!(e instanceof SQLException)) {
      return false; // a fault of this code or of its jar, not the database's
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
          || t instanceof SQLTransientException || t instanceof IOException) {
        return true;
      }
      if (t instanceof SQLException s && s.getSQLState() != null) {
        String state = s.getSQLState();
        if (state.startsWith("08") || state.startsWith("57P") || state.startsWith("53") || state.equals("40001")
            || state.equals("40P01") || state.equals("57014")) {
          return true;
        }
      }
    }
    return false;
  }

  /** A failure in a few words: the driver's message, with its SQLSTATE. Neither ever holds the password. */
  private static String describe(Throwable e) {
    Throwable t = e;
    String state = null;
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof SQLException s && s.getSQLState() != null) {
        state = s.getSQLState();
        t = c;
        break;
      }
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return state == null ? message : message + " [SQLSTATE " + state + "]";
  }

  @Override
  public StoreException failure() {
    return failing;
  }

  @Override
  public int heldWrites() {
    return heldWrites;
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  @Override
  public long jobsKept() {
    return rows;
  }

  // ---- close ----

  /**
   * Commits what is queued (for at most five seconds), then gives back to the
   * shared queue the jobs this service claimed and did not start (and settles any it still has
   * running, as a rescue would), marks the service STOPPED, and closes the listener and the pool.
   */
  @Override
  public void close() {
    Thread w;
    synchronized (this) {
      if (closing || pool == null) {
        closing = true;
        return;
      }
      closing = true;
      w = writer;
    }
    join(w, CLOSE_WAIT_NANOS + TimeUnit.SECONDS.toNanos(3));
    for (Write late = queue.poll(); late != null; late = queue.poll()) {
      if (late.done() != null) {
        late.done().done(closedFailure());
      }
    }
    stopping = true;
    if (heartbeat != null) {
      LockSupport.unpark(heartbeat);
      join(heartbeat, TimeUnit.SECONDS.toNanos(5));
    }
    heartbeating.lock();
    try {
      closeQuietly(heartbeatConnection);
      heartbeatConnection = null;
    } finally {
      heartbeating.unlock();
    }
    try (Connection c = pool.getConnection()) {
      Rescue own = rescue(c, true);
      if (own.touched() > 0) {
        LOG.info("job store {}: this service stopped holding {} jobs: {} went back to the shared queue, {} ended FAILED {}, {}"
            + " ended as a stop asked", redactedUrl, own.touched(), own.requeued, own.failed, Recovery.SERVICE_LOST, own.stopped);
      }
    } catch (SQLException | RuntimeException e) {
      LOG.warn("job store {}: could not mark this service stopped ({}); once its lease expires, another service settles the jobs"
          + " it held", redactedUrl, describe(e));
    }
    claims.clear();
    wakeListener();
    closeQuietly(listening);
    if (listenerThread != null) {
      join(listenerThread, TimeUnit.SECONDS.toNanos(5));
    }
    pool.close();
  }

  private static void join(Thread t, long nanos) {
    if (t == null) {
      return;
    }
    LockSupport.unpark(t);
    try {
      t.join(Duration.ofNanos(nanos));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      LOG.error("the job store thread {} did not end in {} ms", t.getName(), TimeUnit.NANOSECONDS.toMillis(nanos));
    }
  }

  private static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException | RuntimeException e) {
      // closing a connection that is gone already
    }
  }

  @Override
  public String toString() {
    return "job store " + redactedUrl;
  }
}
