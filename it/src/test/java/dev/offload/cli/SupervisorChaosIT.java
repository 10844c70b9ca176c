package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.PluginJar;
import dev.offload.testing.RecordingHandler;
import dev.offload.testing.ServeProcess;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos for the supervisor itself: a real {@code offload serve} on a real SQLite store is killed
 * with SIGKILL several times during a 10,000-line {@code offload batch}, started again on the same
 * store each time, and the batch finished with {@code --resume}, as a user would. Half the lines
 * ask for retries, half for none.
 *
 * <p>Executions are counted by the handler itself ({@link RecordingHandler}, in a plugin jar), not
 * by the store: each run of a job appends its line and job id to a log file before it does its
 * work, so a run that the kill cut short is counted too. At the end every line has exactly one
 * result and exactly one job, every job has ended, a job without retries ran at most once, and a
 * line ran more than once only through its own job's retries: a line whose job was recorded
 * before a kill and whose acknowledgement never reached the batch (up to the window of lines, under
 * load) is sent again by {@code --resume} with the same idempotency key, and gets that job's
 * result instead of a second job. Around each restart, the store's jobs are compared:
 * none vanished, finished ones kept exactly, ids contiguous, the recovery's own counts add up to
 * what the store holds, and every result the batch wrote is its job's recorded end.
 */
@ExtendWith(NoLeftoverProcesses.class)
class SupervisorChaosIT {

  private static final int LINES = 10_000;
  /**
   * Results each run of the batch writes before its service is killed: a quarter of the way; soon
   * after the restart, as the lines the kill left pending (up to the window, 256) have been fetched
   * and new ones are sent; and past the middle.
   */
  private static final int[] KILL_AFTER = {2_500, 300, 3_000};
  /** Retries of the lines that have any: enough for two losses in a row and a run to the end. */
  private static final int RETRIES = 3;
  /** Each job's own work: long enough that 10,000 of them on 2 workers take some seconds. */
  private static final int JOB_MS = 2;
  private static final Duration PHASE_LIMIT = Duration.ofSeconds(120);
  /** What a restarted serve says it found: unfinished jobs, if the kill left any, then finished ones. */
  private static final Pattern RECOVERED = Pattern.compile(
      "(?:(\\d+) jobs to run \\((\\d+) of them were running and go again\\), (\\d+) lost with it \\(FAILED SERVICE_LOST\\); )?"
          + "(\\d+) finished jobs kept; ids go on from j-(\\d+)");

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();
  private final long startNanos = System.nanoTime();

  @AfterEach
  void killLeftovers() {
    started.forEach(Process::destroyForcibly);
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES) // a hang guard: well over the minute or two it takes on 2 busy cores
  void serveKilledThreeTimesDuringABatch_everyLineOneResultAndOneJob_noJobLost_onlyLinesWithRetriesRunTwice() throws Exception {
    Path executions = dir.resolve("executions.log");
    Path jobs = dir.resolve("jobs.jsonl");
    try (BufferedWriter out = Files.newBufferedWriter(jobs)) {
      String log = Json.write(Json.mapper().valueToTree(executions.toString()));
      for (int i = 1; i <= LINES; i++) {
        out.write("{\"id\": \"L" + i + "\", \"handler\": \"record\", \"input\": {\"line\": " + i + ", \"ms\": " + JOB_MS
            + ", \"log\": " + log + "}"
            + (withRetries(i) ? ", \"retries\": " + RETRIES : "") + "}\n");
      }
    }
    Path results = dir.resolve("results.jsonl");
    Path pendingFile = PendingLog.pathFor(results);
    LineCounter written = new LineCounter(results);
    String[] serveArgs = {"--workers", "2", "--store", "sqlite:" + dir.resolve("jobs.db"), "--keep-finished", "100000",
        "--handlers", PluginJar.write(dir.resolve("record.jar"), RecordingHandler.class).toString()};

    Map<String, JsonNode> afterRestart = Map.of();
    int kills = 0;
    /** At each restart, the lines whose job the store holds that the batch neither answered nor journalled: --resume sends them with their key. */
    List<Integer> sentAgainByKey = new ArrayList<>();
    for (int phase = 0; phase <= KILL_AFTER.length; phase++) {
      boolean last = phase == KILL_AFTER.length;
      try (ServeProcess serve = ServeProcess.start(dir, List.of(), serveArgs)) {
        started.add(serve.process());
        progress("serve " + (phase + 1) + " is up, " + written.count() + " results written");
        if (phase > 0) {
          afterRestart = checkRecovery(serve, afterRestart, results);
          sentAgainByKey.add(unacknowledged(afterRestart, results, pendingFile));
        }
        List<String> batchArgs = new ArrayList<>(List.of("batch", jobs.toString(), "--output", results.toString(),
            "--server", serve.target(), "--progress", "never"));
        if (phase > 0) {
          batchArgs.add("--resume");
        }
        Path err = dir.resolve("batch-" + phase + ".err");
        Process batch = new ProcessBuilder(OffloadProcess.command(List.of(), batchArgs.toArray(String[]::new)))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(err.toFile())
            .start();
        started.add(batch);
        if (last) {
          assertTrue(batch.waitFor(PHASE_LIMIT.toSeconds(), TimeUnit.SECONDS), "the last run of the batch ends");
          progress("the batch ended, exit " + batch.exitValue() + ", " + written.count() + " results written");
          assertTrue(batch.exitValue() == ExitCodes.OK || batch.exitValue() == ExitCodes.FAILED, Files.readString(err));
          progress("lines accepted before a kill whose acknowledgement was lost, sent again with their key: " + sentAgainByKey);
          assertFinal(serve, results, executions, kills);
          serve.shutdown();
          progress("done");
          break;
        }
        long target = written.count() + KILL_AFTER[phase];
        Await.until(target + " results written, in run " + (phase + 1) + " of the batch", PHASE_LIMIT,
            () -> written.count() >= target || !batch.isAlive());
        assertTrue(batch.isAlive(), "the batch still ran at its service's kill " + (phase + 1) + ": " + Files.readString(err));
        ProcessHandle.of(serve.pid()).orElseThrow().destroyForcibly(); // kill -9 of the supervisor, by its pid
        assertTrue(serve.process().waitFor(10, TimeUnit.SECONDS), "serve died of SIGKILL");
        progress("kill " + (phase + 1) + " of serve, " + written.count() + " results written");
        assertTrue(batch.waitFor(30, TimeUnit.SECONDS), "the batch ended after its service's kill " + (phase + 1));
        assertEquals(ExitCodes.UNAVAILABLE, batch.exitValue(), Files.readString(err));
        kills++;
        assertTrue(Files.exists(pendingFile), "the batch keeps its id (and its pending lines) for --resume after kill " + kills);
      }
    }
  }

  /**
   * Checks the store just after a restart against what the restarted service says it recovered,
   * against the store just after the restart before (empty for the first), and against the
   * results the batch has written; returns the store's jobs by id.
   */
  private static Map<String, JsonNode> checkRecovery(ServeProcess serve, Map<String, JsonNode> before, Path results)
      throws IOException {
    Matcher recovered = serve.stderrLines().stream().map(RECOVERED::matcher).filter(Matcher::find).findFirst()
        .orElseThrow(() -> new AssertionError("serve did not say what it recovered:\n" + serve.stderr()));
    long toRun = recovered.group(1) == null ? 0 : Long.parseLong(recovered.group(1));
    long lost = recovered.group(3) == null ? 0 : Long.parseLong(recovered.group(3));
    long finished = Long.parseLong(recovered.group(4));
    long nextId = Long.parseLong(recovered.group(5));
    Map<String, JsonNode> after = serve.jobs();
    // The lost jobs have ended: they are among the finished ones.
    assertTrue(lost <= finished, recovered.group());
    assertEquals(toRun + finished, after.size(), "the store holds what its recovery counted: " + recovered.group());
    // Ids run on past those the killed service reserved (one may have gone to a job sent before its record was committed).
    assertTrue(after.values().stream().allMatch(job -> number(job) < nextId), "every id kept is below j-" + nextId);
    assertTrue(after.keySet().containsAll(before.keySet()), "every job kept, none pruned");
    for (JsonNode job : before.values()) {
      JsonNode now = after.get(job.get("id").asText());
      if (terminal(job)) {
        // A finished job is kept as it was, through any number of restarts: it never runs again.
        for (String field : List.of("state", "attempts", "output", "error", "worker_pid", "run_ms")) {
          assertEquals(job.get(field), now.get(field), field + " of a finished job after a restart: " + now + ", was " + job);
        }
      } else {
        assertTrue(now.get("attempts").asInt() >= job.get("attempts").asInt(), "attempts never go back: " + now + ", was " + job);
      }
    }
    // Only a recovery makes a job SERVICE_LOST: this one made as many as it says.
    long lostBefore = before.values().stream().filter(SupervisorChaosIT::serviceLost).count();
    long lostNow = after.values().stream().filter(SupervisorChaosIT::serviceLost).count();
    assertEquals(lostBefore + lost, lostNow, "the jobs the kill lost are those the recovery counted: " + recovered.group());
    Map<Long, List<JsonNode>> byLine = new HashMap<>();
    for (JsonNode job : after.values()) {
      if (serviceLost(job)) {
        assertTrue(job.get("attempts").asInt() > job.get("retries").asInt(), "only a job with no retries left is lost: " + job);
      }
      byLine.computeIfAbsent(job.get("input").get("line").asLong(), l -> new ArrayList<>()).add(job);
    }
    // A result the batch got is its job's end, recorded: the job is kept finished, in that state.
    for (String text : Files.readAllLines(results, StandardCharsets.UTF_8)) {
      JsonNode result = Json.parse(text);
      List<JsonNode> lineJobs = byLine.getOrDefault(result.get("line").asLong(), List.of());
      assertTrue(lineJobs.stream().anyMatch(j -> terminal(j) && j.get("state").equals(result.get("state"))),
          "the job of a result the batch wrote is kept in that state: " + result + ", " + lineJobs);
    }
    return after;
  }

  /**
   * How many lines have a job in the store but neither a result in the output nor an entry in the
   * pending journal: accepted by the killed service, their acknowledgement lost on the way.
   */
  private static int unacknowledged(Map<String, JsonNode> store, Path results, Path pendingFile) throws IOException {
    Set<Long> known = new HashSet<>(PendingLog.read(pendingFile).keySet());
    for (String text : Files.readAllLines(results, StandardCharsets.UTF_8)) {
      known.add(Json.parse(text).get("line").asLong());
    }
    return (int) store.values().stream().map(job -> job.get("input").get("line").asLong()).filter(line -> !known.contains(line)).count();
  }

  private static void assertFinal(ServeProcess serve, Path results, Path executions, int kills) throws Exception {
    // What the last run did not wait for: a job recorded in the instant before a kill and never
    // acknowledged runs after the restart, and nobody asks for its result.
    Await.until("no job queued or running", PHASE_LIMIT, () -> {
      JsonNode byState = serve.stats().get("jobs_by_state");
      return byState.get("QUEUED").asInt() == 0 && byState.get("RUNNING").asInt() == 0;
    });

    // Every line exactly one result line.
    Map<Long, JsonNode> resultByLine = new TreeMap<>();
    for (String text : Files.readAllLines(results, StandardCharsets.UTF_8)) {
      JsonNode result = Json.parse(text);
      long line = result.get("line").asLong();
      JsonNode earlier = resultByLine.put(line, result);
      assertEquals(null, earlier, "line " + line + " has two result lines: " + earlier + " and " + result);
      assertEquals("L" + line, result.get("id").asText(), text);
    }
    assertEquals(LINES, resultByLine.size(), "every line has a result");

    // Every execution, as the handler recorded it.
    Map<String, Integer> runsByJob = new HashMap<>();
    Map<Long, Integer> runsByLine = new HashMap<>();
    Map<String, Long> lineOfJob = new HashMap<>();
    for (String entry : Files.readAllLines(executions, StandardCharsets.UTF_8)) {
      String[] parts = entry.split(" ");
      assertEquals(2, parts.length, "a whole execution record: '" + entry + "'");
      long line = Long.parseLong(parts[0]);
      Long earlier = lineOfJob.put(parts[1], line);
      assertTrue(earlier == null || earlier == line, "job id " + parts[1] + " ran for line " + earlier + " and for line " + line
          + ": one id was given to two jobs (a job that ran without its record committed before a kill, its id given again"
          + " after the restart?)");
      runsByJob.merge(parts[1], 1, Integer::sum);
      runsByLine.merge(line, 1, Integer::sum);
    }

    Map<String, JsonNode> store = serve.jobs();
    Map<Long, List<JsonNode>> jobsByLine = new TreeMap<>();
    for (JsonNode job : store.values()) {
      String state = job.get("state").asText();
      assertTrue(state.equals("SUCCEEDED") || serviceLost(job), "every job ended, and only a lost one did not succeed: " + job);
      int runs = runsByJob.getOrDefault(job.get("id").asText(), 0);
      assertTrue(runs <= job.get("attempts").asInt(), "a job ran no more often than its attempts say: " + runs + " runs of " + job);
      if (job.get("retries").asInt() == 0) {
        assertTrue(runs <= 1, "a job without retries ran at most once: " + runs + " runs of " + job);
      }
      if (state.equals("SUCCEEDED")) {
        assertTrue(runs >= 1, "a job that succeeded ran: " + job);
      }
      jobsByLine.computeIfAbsent(job.get("input").get("line").asLong(), l -> new ArrayList<>()).add(job);
    }
    assertEquals(LINES, jobsByLine.size(), "every line has a job in the store");

    int linesRunTwice = 0;
    int lostLines = 0;
    for (long line = 1; line <= LINES; line++) {
      JsonNode result = resultByLine.get(line);
      List<JsonNode> lineJobs = jobsByLine.get(line);
      // One job per line, however many times the line was sent: a line sent again by --resume
      // (its acknowledgement lost in the kill) carries the idempotency key it was first sent with,
      // and the restarted service answers it with the job it holds for that key.
      assertEquals(1, lineJobs.size(), "line " + line + " has one job, not one per time it was sent: " + lineJobs);
      JsonNode answered = lineJobs.getFirst();
      int runs = runsByLine.getOrDefault(line, 0);
      assertEquals(answered.get("state"), result.get("state"), "line " + line + "'s result is its job's end: " + result + ", " + answered);
      if (withRetries((int) line)) {
        assertEquals("SUCCEEDED", result.get("state").asText(), "a line with " + RETRIES + " retries succeeded: " + result);
        assertTrue(runs >= 1, "line " + line + " ran");
        if (runs > 1) {
          linesRunTwice++;
        }
      } else {
        if (serviceLost(answered)) {
          lostLines++;
        } else {
          assertEquals("SUCCEEDED", result.get("state").asText(), result.toString());
        }
        assertTrue(runs <= 1, "line " + line + ", without retries, ran at most once: " + runs + " runs, " + answered);
      }
    }
    System.out.printf("SupervisorChaosIT: %d kills; %d jobs for %d lines; %d executions; %d lines with retries ran more than once;"
            + " %d lines without retries lost (SERVICE_LOST)%n",
        kills, store.size(), LINES, runsByJob.values().stream().mapToInt(Integer::intValue).sum(), linesRunTwice, lostLines);
    assertFalse(Files.exists(PendingLog.pathFor(results)), "nothing is pending once every line is answered");
  }

  /** Prints how far the test has come, so that a slow run shows which part was slow. */
  private void progress(String what) {
    System.out.printf("SupervisorChaosIT +%.1f s: %s%n", (System.nanoTime() - startNanos) / 1e9, what);
  }

  private static boolean withRetries(int line) {
    return line % 2 == 0;
  }

  private static boolean terminal(JsonNode job) {
    return !Set.of("QUEUED", "RUNNING").contains(job.get("state").asText());
  }

  private static boolean serviceLost(JsonNode job) {
    return job.get("state").asText().equals("FAILED") && job.get("error").get("code").asText().equals("SERVICE_LOST");
  }

  private static long number(JsonNode job) {
    return Long.parseLong(job.get("id").asText().substring("j-".length()));
  }

  /**
   * Counts the lines of a file that another process appends to, reading only what was added
   * since the last count, so that polling a growing file stays cheap.
   */
  private static final class LineCounter {
    private final Path file;
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    private long position;
    private long lines;

    LineCounter(Path file) {
      this.file = file;
    }

    synchronized long count() {
      if (!Files.exists(file)) {
        return lines;
      }
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        for (int read = channel.read(buffer.clear(), position); read > 0; read = channel.read(buffer.clear(), position)) {
          position += read;
          for (int i = 0; i < read; i++) {
            if (buffer.get(i) == '\n') {
              lines++;
            }
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot read " + file + ": " + e, e);
      }
      return lines;
    }
  }
}
