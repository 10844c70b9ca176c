import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.sqlite.SQLiteConfig;

/**
 * The two costs the durability targets of {@code scripts/bench} are built from, measured on their
 * own: one SQLite commit of one small row, with {@code synchronous=NORMAL} (durability
 * {@code process}) and {@code synchronous=FULL} ({@code machine}), and one thread hand-off.
 *
 * <p>The commits go to a WAL-mode SQLite file opened as {@code SqliteStore} opens its own (the
 * driver's getGeneratedKeys off; journal_mode=WAL, synchronous, cache_size=-16384) in DIR, which the bench puts on the same
 * filesystem as the stores it measures; the table has the store's shape (an integer key, a few
 * text and integer columns), and each transaction is one INSERT and its commit,
 * as a lone job's acceptance is. NORMAL and FULL take turns in rounds, so that a change in the
 * machine's load weighs on both alike; SQLite's automatic checkpoints happen on the committing
 * connection, as in the store, and are part of the figures.
 *
 * <p>A FULL commit is also timed a pause after the last one ended ({@code full_spaced}), as a
 * service's commits come one at a time, a job apart: on a virtual machine a disk flush and the
 * wake-ups around it can cost more after the machine has been idle than back to back.
 *
 * <p>The hand-off is the time from one platform thread's {@code LockSupport.unpark} of another,
 * parked, thread until that thread runs: what the store's writer costs a lone job each time it is
 * woken (and each time it hands completions back). Measured one way, with both threads' {@code
 * System.nanoTime} (one monotonic clock for the JVM).
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp cli/target/lib/sqlite-jdbc-VERSION.jar CommitCost.java DIR
 * COMMITS HANDOFFS PAUSE_MS} (the driver alone: with the CLI's logging on the class path too, the
 * driver's debug lines would go to stdout). It prints one JSON object: {@code {"file", "normal",
 * "full", "full_spaced", "pause_ms", "handoff"}}, the four timings each with {@code n, p50_us,
 * p90_us, p99_us, mean_us}; the file is deleted at the end.
 */
public final class CommitCost {

  private static final int ROUNDS = 10;

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: java -cp SQLITE_JDBC_JAR CommitCost.java DIR COMMITS HANDOFFS PAUSE_MS");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int commits = Integer.parseInt(args[1]);
    int handoffs = Integer.parseInt(args[2]);
    long pauseMillis = Long.parseLong(args[3]);
    if (commits < ROUNDS || handoffs < 1) {
      System.err.println("CommitCost: COMMITS must be at least " + ROUNDS + " and HANDOFFS at least 1");
      System.exit(2);
    }
    Files.createDirectories(dir);
    Path file = dir.resolve("commit-cost.db");
    long[] normal = new long[commits];
    long[] full = new long[commits];
    long[] fullSpaced = new long[commits];
    try {
      commits(file, normal, full, fullSpaced, TimeUnit.MILLISECONDS.toNanos(pauseMillis));
    } finally {
      for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
        Files.deleteIfExists(dir.resolve(file.getFileName() + suffix));
      }
    }
    long[] handoff = handoffs(handoffs);
    System.out.printf(Locale.ROOT, "{\"file\": \"%s\", \"normal\": %s, \"full\": %s, \"full_spaced\": %s, \"pause_ms\": %d,"
        + " \"handoff\": %s}%n", file, figures(normal), figures(full), figures(fullSpaced), pauseMillis, figures(handoff));
  }

  private static void commits(Path file, long[] normal, long[] full, long[] fullSpaced, long pauseNanos) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setGetGeneratedKeys(false); // as SqliteStore opens its file: no extra query per insert
    try (Connection c = config.createConnection("jdbc:sqlite:" + file)) {
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA locking_mode=EXCLUSIVE"); // as SqliteStore: its file locks taken once, no -shm
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA cache_size=-16384");
        s.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, handler TEXT NOT NULL, state TEXT NOT NULL,"
            + " input_json TEXT NOT NULL, output_json TEXT NOT NULL DEFAULT '', worker_pid INTEGER NOT NULL DEFAULT 0,"
            + " attempts INTEGER NOT NULL DEFAULT 0, submitted_at_ms INTEGER NOT NULL, finished_seq INTEGER)");
      }
      c.setAutoCommit(false);
      try (PreparedStatement insert = c.prepareStatement(
          "INSERT INTO jobs (id, handler, state, input_json, submitted_at_ms) VALUES (?, 'echo', 'QUEUED', '1', ?)")) {
        long[] id = {0};
        // Unmeasured first: the driver's and SQLite's first calls, and the JIT.
        int warmup = Math.min(500, normal.length / 2);
        run(c, insert, id, "NORMAL", new long[warmup], 0, warmup, 0);
        run(c, insert, id, "FULL", new long[warmup], 0, warmup, 0);
        int per = normal.length / ROUNDS;
        for (int round = 0; round < ROUNDS; round++) {
          int from = round * per;
          int to = round == ROUNDS - 1 ? normal.length : from + per;
          run(c, insert, id, "NORMAL", normal, from, to, 0);
          run(c, insert, id, "FULL", full, from, to, 0);
          run(c, insert, id, "FULL", fullSpaced, from, to, pauseNanos);
        }
      }
    }
  }

  /** Times one INSERT and its commit per slot of {@code times[from, to)}, each {@code pauseNanos} after the last one ended. */
  private static void run(Connection c, PreparedStatement insert, long[] id, String synchronous, long[] times, int from, int to,
      long pauseNanos) throws SQLException {
    // SQLite refuses to change the safety level inside a transaction, and the driver opens one
    // after every commit unless in auto-commit mode.
    c.setAutoCommit(true);
    try (Statement s = c.createStatement()) {
      s.execute("PRAGMA synchronous=" + synchronous);
    }
    c.setAutoCommit(false);
    for (int i = from; i < to; i++) {
      // Asleep, as the service's writer is between one job's commit and the next (a park may end early: park again).
      long wakeAt = System.nanoTime() + pauseNanos;
      while (wakeAt - System.nanoTime() > 0) {
        LockSupport.parkNanos(wakeAt - System.nanoTime());
      }
      long start = System.nanoTime();
      insert.setLong(1, ++id[0]);
      insert.setLong(2, System.currentTimeMillis());
      insert.executeUpdate();
      c.commit();
      times[i] = System.nanoTime() - start;
    }
  }

  /** One-way hand-off times: unpark of a parked platform thread until it runs. */
  private static long[] handoffs(int count) throws InterruptedException {
    long[] times = new long[count];
    int warmup = Math.min(2_000, count);
    Thread main = Thread.currentThread();
    Handoff h = new Handoff();
    Thread receiver = Thread.ofPlatform().name("commit-cost-receiver").start(() -> {
      for (int i = 0; i < warmup + count; i++) {
        while (h.sent == h.received) {
          LockSupport.park(h);
        }
        long woke = System.nanoTime();
        if (i >= warmup) {
          times[i - warmup] = woke - h.sentAt;
        }
        h.received = h.sent;
        LockSupport.unpark(main);
      }
    });
    for (int i = 0; i < warmup + count; i++) {
      // Hand over only to a thread that is asleep, as the store's idle writer is.
      while (receiver.getState() != Thread.State.WAITING) {
        Thread.onSpinWait();
      }
      h.sentAt = System.nanoTime();
      h.sent++;
      LockSupport.unpark(receiver);
      while (h.received != h.sent) {
        LockSupport.park(h);
      }
    }
    receiver.join();
    return times;
  }

  private static final class Handoff {
    volatile long sent;
    volatile long received;
    volatile long sentAt;
  }

  private static String figures(long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    double mean = Arrays.stream(sorted).average().orElse(Double.NaN) / 1000;
    return String.format(Locale.ROOT, "{\"n\": %d, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f}",
        sorted.length, percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99), mean);
  }

  private static double percentile(long[] sortedNanos, int p) {
    int index = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
    return sortedNanos[Math.max(0, index)] / 1000.0;
  }
}
