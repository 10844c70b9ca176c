package dev.offload.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.cli.ExitCodes;
import dev.offload.sdk.Json;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.PluginJar;
import dev.offload.testing.PostgresExtension;
import dev.offload.testing.RecordingHandler;
import dev.offload.testing.ServeProcess;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several {@code offload serve} processes on one PostgreSQL database: one cluster, one queue.
 * Each test starts its services (2 workers each) on a real PostgreSQL server that the suite
 * starts itself, and runs a batch through one of them. Executions are counted by the handler
 * itself ({@link RecordingHandler}), so "nothing ran twice" is checked against what really ran.
 */
@ExtendWith(NoLeftoverProcesses.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES) // a hang guard, well over what each test takes on 2 busy cores
class ClusterIT {

  @RegisterExtension static final PostgresExtension POSTGRES = new PostgresExtension();

  private static final Duration LIMIT = Duration.ofSeconds(120);

  @TempDir Path dir;
  private final List<ServeProcess> services = new ArrayList<>();
  private final List<Process> batches = new ArrayList<>();

  @AfterEach
  void stopEverything() throws InterruptedException {
    batches.forEach(Process::destroyForcibly);
    for (ServeProcess service : services) {
      service.close();
    }
  }

  @Test
  void batchThroughOneService_runsOnEveryServicesWorkers_andACancelThroughOneReachesTheJobOnAnother() throws Exception {
    ServeProcess a = serve("a", "10s");
    ServeProcess b = serve("b", "10s");
    ServeProcess c = serve("c", "10s");
    Map<Long, String> serviceOfPid = new HashMap<>();
    for (ServeProcess s : List.of(a, b, c)) {
      String name = s == a ? "a" : s == b ? "b" : "c";
      s.workerPids().forEach(pid -> serviceOfPid.put(pid, name));
    }

    JsonNode cluster = a.stats().get("services");
    Set<String> names = new HashSet<>();
    cluster.forEach(s -> names.add(s.get("name").asText()));
    assertEquals(Set.of("a", "b", "c"), names, "stats lists the cluster's three services: " + cluster);
    cluster.forEach(s -> assertEquals(2, s.get("workers").asInt(), s.toString()));

    int lines = 3_000;
    Path jobs = jobsFile(lines, 5, 0);
    Path results = dir.resolve("results.jsonl");
    Cli.Result batch = Cli.run("batch", jobs.toString(), "--output", results.toString(), "--server", a.target(), "--progress", "never");
    assertEquals(ExitCodes.OK, batch.exitCode(), batch.err());

    Map<Long, JsonNode> byLine = resultsByLine(results);
    assertEveryLineAnswered(lines, byLine, a);
    Map<String, Integer> linesByService = new TreeMap<>();
    for (JsonNode result : byLine.values()) {
      assertEquals("SUCCEEDED", result.get("state").asText(), result.toString());
      String service = serviceOfPid.get(result.get("worker_pid").asLong());
      assertTrue(service != null, "line " + result.get("line") + " ran on a worker of the cluster: " + result + ", " + serviceOfPid);
      linesByService.merge(service, 1, Integer::sum);
    }
    assertEquals(Set.of("a", "b", "c"), linesByService.keySet(), "jobs ran on the workers of all three services: " + linesByService);
    Map<Long, Integer> runs = runsByLine();
    assertEquals(lines, runs.size(), "every line ran");
    runs.forEach((line, n) -> assertEquals(1, n, "line " + line + " ran once"));
    System.out.println("ClusterIT: lines run per service " + linesByService);

    // A job running on c, cancelled through b: c stops it, and every service tells its end.
    String id = c.submit("sleep", "{\"ms\": 120000}");
    Await.until(id + " running on c", LIMIT, () -> c.state(id).equals("RUNNING"));
    assertTrue(serviceOfPid.get(c.status(id).get("worker_pid").asLong()).equals("c"), "it runs on c's worker");
    Cli.Result cancel = Cli.run("cancel", id, "--server", b.target());
    assertEquals(0, cancel.exitCode(), cancel.err());
    Await.until(id + " cancelled, as b asks", Duration.ofSeconds(30), () -> b.state(id).equals("CANCELLED"));
    assertEquals("CANCELLED", c.state(id));
    assertEquals("CANCELLED", a.state(id), "any service answers for any job");
  }

  @Test
  void killOfAnotherServiceMidBatch_survivorsFinishIt_andOnlyRetriedLinesRunTwice() throws Exception {
    ServeProcess a = serve("a", "3s");
    ServeProcess b = serve("b", "3s");
    ServeProcess c = serve("c", "3s");
    int lines = 400;
    Path jobs = jobsFile(lines, 20, 2);
    Path results = dir.resolve("results.jsonl");
    Process batch = batchInBackground(jobs, results, a, false);
    Await.until("100 results", LIMIT, () -> countLines(results) >= 100 || !batch.isAlive());
    assertTrue(batch.isAlive(), "the batch still runs when c is killed");
    kill(c);

    assertTrue(batch.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS), "the batch ends once the survivors have run c's jobs");
    assertEquals(ExitCodes.OK, batch.exitValue(), Files.readString(dir.resolve("batch.err")));
    Map<Long, JsonNode> byLine = resultsByLine(results);
    assertEveryLineAnswered(lines, byLine, a);
    byLine.values().forEach(r -> assertEquals("SUCCEEDED", r.get("state").asText(), "a line with retries succeeded: " + r));
    Map<Long, Integer> runs = runsByLine();
    Map<Long, JsonNode> jobByLine = new HashMap<>();
    // The database outlives each test (one server per class): only this test's jobs, by their log.
    b.jobs().values().stream().filter(job -> job.path("input").path("log").asText().equals(executions().toString()))
        .forEach(job -> jobByLine.put(job.get("input").get("line").asLong(), job));
    int retried = 0;
    for (JsonNode result : byLine.values()) {
      long line = result.get("line").asLong();
      JsonNode job = jobByLine.get(line);
      int ran = runs.getOrDefault(line, 0);
      assertTrue(ran >= 1, "line " + line + " ran");
      assertTrue(ran <= job.get("attempts").asInt(), "line " + line + " ran no more often than its job's attempts: " + job);
      if (ran > 1) {
        retried++;
      }
    }
    System.out.println("ClusterIT: after c's kill, " + retried + " lines ran again on a survivor");
  }

  @Test
  void killOfTheBatchsOwnService_clientExits3AtOnce_andResumeThroughAnotherGetsEveryResult_nothingRunTwice() throws Exception {
    ServeProcess a = serve("a", "3s");
    ServeProcess b = serve("b", "3s");
    int lines = 400;
    Path jobs = jobsFile(lines, 20, 0);
    Path results = dir.resolve("results.jsonl");
    Process batch = batchInBackground(jobs, results, a, false);
    Await.until("100 results", LIMIT, () -> countLines(results) >= 100 || !batch.isAlive());
    assertTrue(batch.isAlive(), "the batch still runs when its service is killed");
    kill(a);
    assertTrue(batch.waitFor(30, TimeUnit.SECONDS), "the client ends at once when its service dies");
    assertEquals(ExitCodes.UNAVAILABLE, batch.exitValue(), Files.readString(dir.resolve("batch.err")));

    Process resumed = batchInBackground(jobs, results, b, true);
    assertTrue(resumed.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS), "the resumed batch ends");
    assertTrue(resumed.exitValue() == ExitCodes.OK || resumed.exitValue() == ExitCodes.FAILED,
        Files.readString(dir.resolve("batch.err")));
    Map<Long, JsonNode> byLine = resultsByLine(results);
    assertEveryLineAnswered(lines, byLine, b);
    Map<Long, Integer> runs = runsByLine();
    int lost = 0;
    for (JsonNode result : byLine.values()) {
      long line = result.get("line").asLong();
      assertTrue(runs.getOrDefault(line, 0) <= 1, "line " + line + ", without retries, ran at most once: " + result);
      if (!result.get("state").asText().equals("SUCCEEDED")) {
        assertEquals("SERVICE_LOST", result.path("error").path("code").asText(), "only a job running on a's workers when a died fails: "
            + result);
        lost++;
      }
    }
    assertTrue(lost <= 2, "at most a's two running jobs were lost with it: " + lost);
    assertFalse(Files.exists(Path.of(results + ".pending")), "nothing is pending once every line is answered");
  }

  @Test
  void aServiceThatLosesTheDatabaseForFiveSeconds_recovers_withoutLosingAJob() throws Exception {
    ServeProcess a = serve("a", "10s");
    ServeProcess b = serve("b", "10s");
    int lines = 400;
    Path jobs = jobsFile(lines, 10, 0);
    Path results = dir.resolve("results.jsonl");
    Process batch = batchInBackground(jobs, results, a, false);
    Await.until("100 results", LIMIT, () -> countLines(results) >= 100 || !batch.isAlive());
    assertTrue(batch.isAlive(), "the batch still runs when the database goes");
    POSTGRES.server().stop();
    // The outage the issue names: five seconds without the database, not a guess at a wait.
    Thread.sleep(5_000);
    POSTGRES.server().start();

    assertTrue(batch.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS), "the batch ends once the database is back");
    assertEquals(ExitCodes.OK, batch.exitValue(), Files.readString(dir.resolve("batch.err")));
    Map<Long, JsonNode> byLine = resultsByLine(results);
    assertEveryLineAnswered(lines, byLine, a);
    byLine.values().forEach(r -> assertEquals("SUCCEEDED", r.get("state").asText(), r.toString()));
    runsByLine().forEach((line, n) -> assertEquals(1, n, "line " + line + " ran once"));
    assertEquals(2, b.stats().get("services").size(), "both services kept their lease through the outage");
  }

  @Test
  void serveAtTrace_logsNoDatabasePassword() throws Exception {
    String password = "db-password-no-log-may-show-7b3e";
    Path passwordFile = Files.writeString(dir.resolve("pgpassword"), password + "\n");
    Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
    Path home = Files.createDirectories(dir.resolve("traced"));
    String log;
    try (ServeProcess serve = ServeProcess.start(home, List.of(), "--log-level", "trace", "--workers", "1", "--store",
        POSTGRES.server().url(), "--store-password-file", passwordFile.toString(), "--name", "traced")) {
      services.add(serve);
      Cli.Result ok = Cli.run("run", "is_prime", "7", "--server", serve.target());
      assertEquals(0, ok.exitCode(), ok.err());
      serve.shutdown();
      log = serve.stderr() + "\n" + logsIn(home.resolve("state"));
    }
    // The level took: every job transition is a debug line. (HikariCP's own debug dump of its settings is
    // checked at debug level in PostgresStoreIT.)
    assertTrue(log.contains("DEBUG") && log.contains("running on worker pid"), log);
    assertFalse(log.contains(password), "the database password is in a log:\n" + log);
  }

  /** offload.log and every worker's log under a state directory, one after another. */
  private static String logsIn(Path state) throws Exception {
    try (var files = Files.walk(state)) {
      StringBuilder all = new StringBuilder();
      for (Path log : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        all.append("== ").append(log).append('\n').append(Files.readString(log));
      }
      return all.toString();
    }
  }

  private ServeProcess serve(String name, String lease) throws Exception {
    Path home = Files.createDirectories(dir.resolve(name));
    ServeProcess service = ServeProcess.start(home, List.of(), "--workers", "2", "--store", POSTGRES.server().url(), "--name", name,
        "--lease", lease, "--keep-finished", "100000", "--handlers", PluginJar.write(home.resolve("record.jar"),
            RecordingHandler.class).toString());
    services.add(service);
    return service;
  }

  private Process batchInBackground(Path jobs, Path results, ServeProcess through, boolean resume) throws Exception {
    List<String> args = new ArrayList<>(List.of("batch", jobs.toString(), "--output", results.toString(), "--server", through.target(),
        "--progress", "never"));
    if (resume) {
      args.add("--resume");
    }
    Process batch = new ProcessBuilder(OffloadProcess.command(List.of(), args.toArray(String[]::new)))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(dir.resolve("batch.err").toFile())
        .start();
    batches.add(batch);
    return batch;
  }

  /** kill -9 of a service, by its pid. */
  private static void kill(ServeProcess service) throws InterruptedException {
    ProcessHandle.of(service.pid()).orElseThrow().destroyForcibly();
    assertTrue(service.process().waitFor(10, TimeUnit.SECONDS), "serve died of SIGKILL");
  }

  /** LINES lines of the recording handler, each running {@code ms} and allowed {@code retries}. */
  private Path jobsFile(int lines, int ms, int retries) throws Exception {
    Path jobs = dir.resolve("jobs.jsonl");
    String log = Json.write(Json.mapper().valueToTree(executions().toString()));
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      for (int i = 1; i <= lines; i++) {
        out.write("{\"id\": \"L" + i + "\", \"handler\": \"record\", \"input\": {\"line\": " + i + ", \"ms\": " + ms + ", \"log\": " + log
            + "}, \"retries\": " + retries + "}\n");
      }
    }
    return jobs;
  }

  private Path executions() {
    return dir.resolve("executions.log");
  }

  /** Fails, saying which lines have no result and what the cluster knows of their jobs, unless every line has one. */
  private void assertEveryLineAnswered(int lines, Map<Long, JsonNode> byLine, ServeProcess anyAlive) throws Exception {
    if (byLine.size() == lines) {
      return;
    }
    List<Long> missing = new ArrayList<>();
    for (long line = 1; line <= lines; line++) {
      if (!byLine.containsKey(line)) {
        missing.add(line);
      }
    }
    List<String> jobs = new ArrayList<>();
    anyAlive.jobs().values().stream()
        .filter(job -> job.path("input").path("log").asText().equals(executions().toString())
            && missing.contains(job.path("input").path("line").asLong()))
        .forEach(job -> jobs.add(job.toString()));
    Map<Long, Integer> runs = runsByLine();
    Path err = dir.resolve("batch.err");
    throw new AssertionError("every line has one result; none for lines " + missing + "; their jobs: " + jobs + "; runs: "
        + missing.stream().map(l -> runs.getOrDefault(l, 0)).toList() + "; the batch's stderr:\n"
        + (Files.exists(err) ? Files.readString(err) : ""));
  }

  /** Each line's one result; fails on a line with two. */
  private static Map<Long, JsonNode> resultsByLine(Path results) throws Exception {
    Map<Long, JsonNode> byLine = new TreeMap<>();
    for (String text : Files.readAllLines(results, StandardCharsets.UTF_8)) {
      JsonNode result = Json.parse(text);
      JsonNode earlier = byLine.put(result.get("line").asLong(), result);
      assertEquals(null, earlier, "one result per line: " + earlier + " and " + result);
    }
    return byLine;
  }

  /** How many times each line really ran, as the handler recorded it. */
  private Map<Long, Integer> runsByLine() throws Exception {
    Map<Long, Integer> runs = new HashMap<>();
    if (Files.exists(executions())) {
      for (String entry : Files.readAllLines(executions(), StandardCharsets.UTF_8)) {
        runs.merge(Long.parseLong(entry.split(" ")[0]), 1, Integer::sum);
      }
    }
    return runs;
  }

  private static long countLines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8).size() : 0;
    } catch (Exception e) {
      return 0;
    }
  }
}
