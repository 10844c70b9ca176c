package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.RunningService;
import dev.offload.sdk.Json;
import dev.offload.supervisor.server.Limits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's contract against a running service: output, JSON keys and exit codes. */
@ExtendWith(NoLeftoverProcesses.class)
class CliIT {

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(2), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  private static Cli.Result offload(String... args) {
    return service.cli(args);
  }

  @Test
  void run_printsTheOutputJson_exit0() {
    Cli.Result r = offload("run", "is_prime", "9999999999999917");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals("{\"n\":9999999999999917,\"prime\":true}", r.out().strip());
  }

  @Test
  void runJson_printsTheJobRecordWithSnakeCaseKeys() throws Exception {
    Cli.Result r = offload("run", "is_prime", "{\"n\": 9999999999999999}", "--json");
    assertEquals(0, r.exitCode(), r.err());
    JsonNode job = Json.parse(r.out());
    for (String key : new String[] {"id", "handler", "state", "output", "error", "worker_pid", "attempts", "queued_ms", "run_ms"}) {
      assertTrue(job.has(key), "key " + key + " in " + r.out());
    }
    assertEquals("SUCCEEDED", job.get("state").asText());
    assertEquals("9999999999999999", job.get("output").get("n").bigIntegerValue().toString());
    assertTrue(job.get("error").isNull());
  }

  @Test
  void runJson_failingHandler_recordsWhatTheHandlerThrewAndWhere() throws Exception {
    Cli.Result r = offload("run", "is_prime", "\"seven\"", "--json");
    assertEquals(1, r.exitCode(), r.err());
    JsonNode error = Json.parse(r.out()).get("error");
    assertEquals("HANDLER_ERROR", error.get("code").asText());
    assertEquals(IllegalArgumentException.class.getName(), error.get("exception_class").asText());
    assertTrue(error.get("stack_trace").asText().contains("IsPrimeHandler"), error.toString());
  }

  @Test
  void run_unknownHandler_exit2ListingKnownHandlers() {
    Cli.Result r = offload("run", "nope", "1");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("unknown handler 'nope'") && r.err().contains("is_prime"), r.err());
  }

  @Test
  void run_malformedJson_exit2() {
    Cli.Result r = offload("run", "echo", "{nope");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("not valid JSON"), r.err());
  }

  @Test
  void run_failingHandler_exit1WithItsMessage() {
    Cli.Result r = offload("run", "is_prime", "\"seven\"");
    assertEquals(1, r.exitCode());
    assertTrue(r.err().contains("FAILED") && r.err().contains("is_prime takes an integer"), r.err());
  }

  @Test
  void run_timedOut_exit4() {
    Cli.Result r = offload("run", "sleep", "{\"ms\": 60000}", "--timeout", "200ms");
    assertEquals(4, r.exitCode(), r.err());
    assertTrue(r.err().contains("TIMED_OUT"), r.err());
  }

  @Test
  void submitStatusResult_roundTrip() {
    Cli.Result submitted = offload("submit", "echo", "{\"k\": [1, 2]}");
    assertEquals(0, submitted.exitCode(), submitted.err());
    String id = submitted.out().strip();
    Cli.Result result = offload("result", id, "--wait");
    assertEquals(0, result.exitCode(), result.err());
    assertEquals("{\"k\": [1, 2]}", result.out().strip());
    Cli.Result status = offload("status", id, "--json");
    assertEquals("SUCCEEDED", Json.parse(status.out()).get("state").asText());
  }

  @Test
  void cancel_runningJob_printsCancelled() {
    String id = offload("submit", "sleep", "{\"ms\": 60000}").out().strip();
    Cli.Result r = offload("cancel", id);
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(id + " CANCELLED", r.out().strip());
    assertEquals(4, offload("result", id).exitCode());
  }

  @Test
  void statsJson_hasWorkersQueueDepthAndCounts() {
    Cli.Result r = offload("stats", "--json");
    assertEquals(0, r.exitCode(), r.err());
    JsonNode stats = Json.parse(r.out());
    assertEquals(2, stats.get("workers").size());
    JsonNode worker = stats.get("workers").get(0);
    assertTrue(worker.has("pid") && worker.has("state") && worker.has("jobs_done"), r.out());
    assertTrue(stats.has("queue_depth"));
    assertTrue(stats.get("jobs_by_state").has("SUCCEEDED"));
  }

  @Test
  void top_notOnATerminal_printsPlainSnapshots() {
    Cli.Result r = offload("top", "-n", "2", "--interval", "100ms");

    assertEquals(0, r.exitCode(), r.err());
    assertEquals(2, r.out().lines().filter(l -> l.startsWith("offload top at ")).count(), r.out());
    assertEquals(2, r.out().lines().filter(l -> l.startsWith("SLOT ")).count(), r.out());
    assertTrue(r.out().contains("throughput"), r.out());
  }

  @Test
  void top_onATerminal_drawsOnTheAlternateScreenAndGivesTheUsersScreenBack() throws Exception {
    Path script = Path.of("/usr/bin/script");
    assumeTrue(Files.isExecutable(script), "needs script(1), from util-linux, to give top a terminal");
    // As the launcher runs it on a terminal (it sets the property when stdin and stdout are one).
    String top = OffloadProcess.command(List.of("-Doffload.stdout.tty=true"), "top", "-n", "1", "--interval", "100ms", "--server", service.target())
        .stream().map(arg -> "'" + arg.replace("'", "'\\''") + "'").collect(Collectors.joining(" "));
    ProcessBuilder builder = new ProcessBuilder(script.toString(), "-q", "-e", "-c", top, "/dev/null")
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectErrorStream(true);
    builder.environment().put("TERM", "xterm");
    Process process = builder.start();
    String screen = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "top on a terminal did not end");

    assertEquals(0, process.exitValue(), screen);
    assertTrue(screen.startsWith("\u001b[?1049h"), "enters the alternate screen first: " + screen);
    assertTrue(screen.contains("offload top at ") && screen.contains("q to quit"), screen);
    assertTrue(screen.endsWith("\u001b[?1049l"), "leaves it last, so the user's screen comes back: " + screen);
  }

  @Test
  void top_badInterval_isAUsageError() {
    assertEquals(2, offload("top", "--interval", "10ms").exitCode());
  }

  @Test
  void listAndHandlers_work() {
    Cli.Result handlers = offload("handlers", "--json");
    assertEquals(0, handlers.exitCode());
    assertTrue(Json.parse(handlers.out()).findValuesAsText("name").containsAll(java.util.List.of("is_prime", "echo", "spin", "sleep")));
    offload("run", "echo", "3");
    Cli.Result list = offload("list", "--state", "succeeded");
    assertEquals(0, list.exitCode(), list.err());
    assertTrue(list.out().contains("SUCCEEDED"));
    assertEquals(2, offload("list", "--state", "bogus").exitCode());
  }

  @Test
  void clientCommand_noService_exit3() {
    Cli.Result r = Cli.run("status", "j-1", "--server", "unix:" + dir.resolve("nothing-here.sock"));
    assertEquals(3, r.exitCode());
    assertTrue(r.err().contains("offload serve"), r.err());
  }

  @Test
  void run_noService_usesAPrivatePool() {
    Cli.Result r = Cli.run("run", "is_prime", "7", "--server", "unix:" + dir.resolve("nothing-here.sock"));
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.err().contains("private pool"), r.err());
    assertEquals("{\"n\":7,\"prime\":true}", r.out().strip());
  }

  @Test
  void benchJson_measuresEveryLevelWithInputsTakenInTurn() throws Exception {
    Path inputs = dir.resolve("bench-inputs.txt");
    Files.writeString(inputs, "7\n\n{\"n\": 9999999999999917}\n");
    Cli.Result r = offload("bench", "--handler", "is_prime", "--input-file", inputs.toString(), "--jobs", "30",
        "--in-flight", "1,4", "--warmup", "5", "--json");
    assertEquals(0, r.exitCode(), r.err());
    JsonNode results = Json.parse(r.out()).get("results");
    assertEquals(2, results.size(), r.out());
    for (int i = 0; i < 2; i++) {
      JsonNode level = results.get(i);
      assertEquals(i == 0 ? 1 : 4, level.get("in_flight").asInt(), r.out());
      assertEquals(30, level.get("jobs").asInt(), r.out());
      assertTrue(level.get("jobs_per_s").asDouble() > 0, r.out());
      assertTrue(level.get("p50_us").asLong() <= level.get("p99_us").asLong(), r.out());
    }
  }

  @Test
  void benchSubmitOnly_measuresAcknowledgementsAndReturnsOnceTheJobsHaveEnded() {
    // A job that takes a while, so that the submissions outrun the two workers and the command
    // has jobs left to wait for when the last submission is answered.
    Cli.Result r = offload("bench", "--submit-only", "--handler", "is_prime", "--input", "{\"n\": 9999999999999917}",
        "--jobs", "12", "--in-flight", "1,3", "--warmup", "2", "--json");
    assertEquals(0, r.exitCode(), r.err());
    JsonNode root = Json.parse(r.out());
    assertTrue(root.get("submit_only").asBoolean(), r.out());
    JsonNode results = root.get("results");
    assertEquals(2, results.size(), r.out());
    for (int i = 0; i < 2; i++) {
      JsonNode level = results.get(i);
      assertEquals(i == 0 ? 1 : 3, level.get("in_flight").asInt(), r.out());
      assertEquals(12, level.get("jobs").asInt(), r.out());
      assertTrue(level.get("p50_us").asLong() <= level.get("p99_us").asLong(), r.out());
    }
    JsonNode byState = Json.parse(offload("stats", "--json").out()).get("jobs_by_state");
    assertEquals(0, byState.path("QUEUED").asLong(), byState.toString());
    assertEquals(0, byState.path("RUNNING").asLong(), byState.toString());
  }

  @Test
  void benchPause_waitsThatLongBeforeEachNextJob_outsideTheLatency_andSaysSo() {
    for (boolean submitOnly : new boolean[] {false, true}) {
      List<String> args = new ArrayList<>(List.of("bench", "--pause", "50ms", "--jobs", "10", "--in-flight", "1", "--warmup", "0", "--json"));
      if (submitOnly) {
        args.add("--submit-only");
      }
      Cli.Result r = offload(args.toArray(String[]::new));
      assertEquals(0, r.exitCode(), r.err());
      JsonNode root = Json.parse(r.out());
      assertEquals(50, root.get("pause_ms").asLong(), r.out());
      JsonNode level = root.get("results").get(0);
      // Nine pauses between ten jobs sent one after another: a lower bound, whatever the machine's pace.
      assertTrue(level.get("seconds").asDouble() >= 0.45, "submit-only " + submitOnly + ": " + r.out());
      assertTrue(level.get("p50_us").asLong() < 50_000, "the pause is not in the latency: " + r.out());
    }
    Cli.Result text = offload("bench", "--pause", "20ms", "--jobs", "2", "--in-flight", "1", "--warmup", "0");
    assertEquals(0, text.exitCode(), text.err());
    assertTrue(text.out().contains("each next job sent 20 ms after a result (--pause)"), text.out());
  }

  /** A job too large for the service to read, sent from a result's callback or the pause's timer: the bench ends, saying so. */
  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES) // a hang guard: the sends after the first come from threads nobody waits on
  void bench_aJobTheServiceCannotRead_endsTheBenchNamingIt_withOrWithoutAPause() throws Exception {
    Path inputs = dir.resolve("too-large-bench-inputs.txt");
    int tooLarge = Limits.defaults().maxRequestBytes() + 1; // the service runs with the default limits
    Files.writeString(inputs, "1\n\"" + "x".repeat(tooLarge) + "\"\n");
    for (String pause : List.of("0ms", "5ms")) {
      Cli.Result r = offload("bench", "--input-file", inputs.toString(), "--jobs", "4", "--in-flight", "1", "--warmup", "0",
          "--pause", pause);
      assertEquals(1, r.exitCode(), "--pause " + pause + ": " + r.err());
      assertTrue(r.err().contains("job 1 could not be sent") && r.err().contains("--max-request-size"), r.err());
    }
  }

  @Test
  void bench_inputFileWithALineThatIsNotJson_isAUsageErrorNamingTheLine() throws Exception {
    Path inputs = dir.resolve("bad-bench-inputs.txt");
    Files.writeString(inputs, "1\n2\n{oops\n");
    Cli.Result r = offload("bench", "--input-file", inputs.toString(), "--jobs", "1");
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("line 3 of " + inputs), r.err());
    assertEquals(2, offload("bench", "--input", "1", "--input-file", inputs.toString()).exitCode());
  }

  @Test
  void badDuration_isUsageError() {
    Cli.Result r = offload("run", "echo", "1", "--timeout", "soon");
    assertEquals(2, r.exitCode());
    assertTrue(r.err().contains("not a duration"), r.err());
  }

  @Test
  void serve_inADirectoryOthersCanWrite_refusesBeforeStartingAnyWorker() throws Exception {
    Path open = Files.createDirectory(dir.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path state = dir.resolve("state-of-a-refused-serve");
    Cli.Result r = Cli.run("serve", "--listen", "unix:" + open.resolve("s.sock"), "--workers", "1", "--state-dir", state.toString());
    assertEquals(2, r.exitCode(), "a refusal, as every other: " + r.err());
    assertTrue(r.err().contains("others can write to it"), r.err());
    assertFalse(Files.exists(state), "refused before the state dir (and its workers' logs) was made");
  }

  @Test
  void serve_withAStateDirOthersCanWrite_refusesWithExit2BeforeStartingAnyWorker() throws Exception {
    Path state = Files.createDirectory(dir.resolve("open-state"));
    Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path socketDir = Files.createDirectory(dir.resolve("private-for-open-state"));
    Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwx------"));

    Cli.Result r = Cli.run("serve", "--listen", "unix:" + socketDir.resolve("s.sock"), "--workers", "1", "--state-dir", state.toString());

    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("can be written by others") && r.err().contains("--state-dir"), r.err());
    try (var made = Files.list(state)) {
      assertEquals(0, made.count(), "no log, no workers' logs");
    }
  }
}
