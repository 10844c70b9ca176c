package dev.offload.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The real PostgreSQL server of the shared-store tests: it runs SQL, keeps its data across a
 * restart on the same port, runs as {@value PostgresServer#RUN_AS} when the tests run as root,
 * and leaves nothing behind: no process, no directory, no shared-memory segment, not even when
 * the JVM that started it is killed.
 */
@ExtendWith(NoLeftoverProcesses.class)
class PostgresServerIT {

  private static final Pattern URL = Pattern.compile("postgresql://offload@127\\.0\\.0\\.1:(\\d+)/offload");

  @RegisterExtension static final PostgresExtension postgres = new PostgresExtension();

  @Test
  void extension_startsOneServerForTheClass() throws Exception {
    assertEquals(List.of(List.of("offload", "offload")), postgres.server().query("select current_user, current_database()"));
    assertEquals("postgresql://offload@127.0.0.1:" + postgres.server().port() + "/offload", postgres.url());
    assertTrue(postgres.server().query("select version()").get(0).get(0).startsWith("PostgreSQL 18.6"));
  }

  @Test
  void server_runsSqlKeepsDataAcrossRestart_andLeavesNothing() throws Exception {
    Set<Long> postmasters = new HashSet<>();
    List<ProcessHandle> processes = new ArrayList<>();
    Path dir;
    try (PostgresServer server = PostgresServer.create()) {
      dir = server.directory();
      assertTrue(Files.isDirectory(dir.resolve("data")));
      server.start();
      postmasters.add(server.pid());
      int port = server.port();
      assertEquals(expectedUser(), ProcessHandle.of(server.pid()).orElseThrow().info().user().orElseThrow());

      server.execute("create table t (id bigint primary key, note text not null)");
      assertEquals(2, server.execute("insert into t values (1, 'one'), (2, 'two')"));

      // A session open across the outage: a fast shutdown ends it rather than waiting for it.
      try (Connection open = DriverManager.getConnection(server.jdbcUrl())) {
        processes.addAll(ProcessHandle.of(server.pid()).orElseThrow().descendants().toList());
        long started = System.nanoTime();
        server.restart();
        assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(30), "a restart with a session open took over 30 s");
        postmasters.add(server.pid());
        assertEquals(2, postmasters.size(), "a restart starts a new postmaster");
        assertEquals(port, server.port(), "a restart keeps the port, as clients point at it");
        try (Statement statement = open.createStatement()) {
          assertThrows(SQLException.class, () -> statement.executeQuery("select 1"), "the old session was ended");
        }
      }
      assertEquals(List.of(List.of("1", "one"), List.of("2", "two")), server.query("select id, note from t order by id"));

      server.stop();
      assertThrows(SQLException.class, () -> server.query("select 1"), "stopped: nothing listens");
      server.start();
      postmasters.add(server.pid());
      processes.addAll(ProcessHandle.of(server.pid()).orElseThrow().descendants().toList());
      processes.add(ProcessHandle.of(server.pid()).orElseThrow());
      assertEquals(List.of(List.of("2")), server.query("select count(*) from t"));
    }
    assertFalse(Files.exists(dir), "close() removes the server's directory: " + dir);
    for (ProcessHandle process : processes) {
      assertFalse(process.isAlive(), "close() returns once the server and its backends have exited: " + process.pid());
    }
    assertNoSegmentsOf(postmasters);
  }

  @Test
  void restart_onAPortTakenMeanwhile_failsSayingSo_andStartsOnceItIsFree() throws Exception {
    try (PostgresServer server = PostgresServer.create()) {
      server.start();
      int port = server.port();
      server.stop();
      try (ServerSocket squatter = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
        IOException refused = assertThrows(IOException.class, server::start);
        assertTrue(refused.getMessage().contains("could not listen on 127.0.0.1:" + port + ", which another process holds"),
            refused.getMessage());
      }
      server.start();
      assertEquals(port, server.port());
      assertEquals(List.of(List.of("1")), server.query("select 1"));
    }
  }

  @Test
  void main_printsTheUrl_stopsAtTheEndOfStdin() throws Exception {
    Process main = startMain();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(main.getInputStream(), StandardCharsets.UTF_8))) {
      String url = out.readLine();
      Matcher matcher = URL.matcher(String.valueOf(url));
      assertTrue(matcher.matches(), "main printed " + url);
      ProcessHandle postmaster = main.toHandle().children().findFirst().orElseThrow();
      assertEquals(expectedUser(), postmaster.info().user().orElseThrow());
      try (Connection connection = DriverManager.getConnection(
          "jdbc:postgresql://127.0.0.1:" + matcher.group(1) + "/offload?user=offload")) {
        assertTrue(connection.isValid(5));
      }
      List<ProcessHandle> all = main.descendants().toList();
      main.getOutputStream().close();
      assertTrue(main.waitFor(60, TimeUnit.SECONDS), "main did not stop within 60 s of the end of its stdin");
      assertEquals(0, main.exitValue());
      all.forEach(process -> assertFalse(process.isAlive(), "left running: " + process.pid()));
      assertEquals(List.of(), directoriesOf(main.pid()), "main removes its server's directory and its template");
      assertNoSegmentsOf(Set.of(postmaster.pid()));
    } finally {
      main.destroyForcibly();
    }
  }

  @Test
  void killedJvm_takesItsServerAlong_andTheNextJvmRemovesWhatItLeft() throws Exception {
    Process main = startMain();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(main.getInputStream(), StandardCharsets.UTF_8))) {
      assertTrue(URL.matcher(String.valueOf(out.readLine())).matches());
      ProcessHandle postmaster = main.toHandle().children().findFirst().orElseThrow();
      List<ProcessHandle> all = main.descendants().toList();
      PostgresServer.Host host = PostgresServer.Setup.get().host();
      // Held from the kill to the removal: another JVM starting meanwhile (the other Failsafe fork)
      // would remove what the killed one left before this test has seen it.
      try (FileChannel cleanup = PostgresServer.StaleFiles.lock(host)) {
        main.destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertTrue(main.waitFor(30, TimeUnit.SECONDS));
        // The parent-death signal kills the postmaster; its backends exit once it has gone.
        Await.until("the killed JVM's PostgreSQL processes to exit", Duration.ofSeconds(30),
            () -> all.stream().noneMatch(ProcessHandle::isAlive));
        assertFalse(directoriesOf(main.pid()).isEmpty(), "a killed JVM leaves its directories, for the next to remove");
        assertTrue(segmentsCreatedBy(Set.of(postmaster.pid())) > 0, "a killed server leaves its shared-memory segment");

        PostgresServer.StaleFiles.removeLocked(host);
      }

      assertEquals(List.of(), directoriesOf(main.pid()));
      assertNoSegmentsOf(Set.of(postmaster.pid()));
    } finally {
      main.destroyForcibly();
    }
  }

  @Test
  void root_withoutTheUser_isToldHowToMakeIt() throws Exception {
    IllegalStateException refused = assertThrows(IllegalStateException.class,
        () -> PostgresServer.Setup.runAs(0, "offload-pg-absent"));
    assertTrue(refused.getMessage().contains("scripts/test"), refused.getMessage());
    assertTrue(refused.getMessage().endsWith(PostgresServer.USERADD + "offload-pg-absent"), refused.getMessage());
    assertTrue(Files.readString(Path.of("../scripts/test")).contains(PostgresServer.USERADD + PostgresServer.RUN_AS),
        "scripts/test creates the user as the message says");
    assertTrue(PostgresServer.Setup.runAs(1000, "offload-pg-absent").isEmpty(), "only root runs PostgreSQL as another user");
  }

  private static String expectedUser() throws Exception {
    int euid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    return euid == 0 ? PostgresServer.RUN_AS : System.getProperty("user.name");
  }

  private static Process startMain() throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), PostgresServer.class.getName())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  /** The directories a JVM of that pid made in the temp dir. */
  private static List<Path> directoriesOf(long pid) throws Exception {
    try (Stream<Path> entries = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return entries.filter(path -> path.getFileName().toString().startsWith("offload-pg-" + pid + "-")).toList();
    }
  }

  private static long segmentsCreatedBy(Set<Long> creators) throws Exception {
    return PostgresServer.SharedMemory.list().stream().filter(segment -> creators.contains(segment.creator())).count();
  }

  private static void assertNoSegmentsOf(Set<Long> postmasters) throws Exception {
    assertEquals(0, segmentsCreatedBy(postmasters), "System V shared memory left by " + postmasters + ": "
        + PostgresServer.SharedMemory.list());
  }
}
