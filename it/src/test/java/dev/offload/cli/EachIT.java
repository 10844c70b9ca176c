package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.sdk.Json;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.RunningService;
import dev.offload.testing.Signals;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code offload each} against a running service: arguments from stdin (lines and {@code -0}) and
 * after {@code :::}, replacement strings, {@code --keep-order}, {@code --tag}, the joblog and its
 * resumes, {@code --halt}, the exit status, and Ctrl-C.
 */
@ExtendWith(NoLeftoverProcesses.class)
class EachIT {

  /** The largest prime below 2^63: is_prime tries about 1.5 billion divisors, long enough to be stopped. */
  private static final String SLOW_PRIME = "9223372036854775783";

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

  /** {@code each OPTIONS... WORDS...} in this JVM, with --server and --progress before the words. */
  private static Cli.Result each(String... args) {
    List<String> all = new ArrayList<>(List.of("each", "--server", service.target(), "--progress", "never"));
    all.addAll(List.of(args));
    return Cli.run(all.toArray(String[]::new));
  }

  /** What an {@code each} process did with this stdin. */
  private record Ran(int exitCode, String out, String err) {}

  /** {@code offload each --server ... args} as its own process, reading {@code stdin}. */
  private static Ran eachProcess(byte[] stdin, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("each", "--server", service.target(), "--progress", "never"));
    all.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    Process each = new ProcessBuilder(OffloadProcess.command(List.of(), all.toArray(String[]::new)))
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try (OutputStream in = each.getOutputStream()) {
      in.write(stdin);
    }
    assertTrue(each.waitFor(60, TimeUnit.SECONDS), "each exited");
    return new Ran(each.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static List<JsonNode> outputs(String out) {
    return out.lines().map(Json::parse).toList();
  }

  @Test
  void stdinLines_pathsWithSpacesQuotesAndUnicode_reachTheHandlerExactly_inInputOrderWithKeepOrder() throws Exception {
    List<String> paths = List.of("/data/my photos/cat 1.png", "/data/say \"cheese\".jpeg", "/data/ünïcødé/日本語 😀.png",
        "/data/back\\slash.tar.gz", "relative/{}.png");
    Ran r = eachProcess((String.join("\n", paths) + "\n").getBytes(StandardCharsets.UTF_8), "-k", "echo",
        "{\"path\": \"{}\", \"out\": \"/thumbs/{/.}.jpg\", \"dir\": \"{//}\", \"noext\": \"{.}\", \"base\": \"{/}\", \"seq\": \"{#}\"}");
    assertEquals(0, r.exitCode(), r.err());
    List<JsonNode> outputs = outputs(r.out());
    assertEquals(paths.size(), outputs.size(), r.out());
    for (int i = 0; i < paths.size(); i++) {
      String path = paths.get(i);
      JsonNode output = outputs.get(i);
      int slash = path.lastIndexOf('/');
      String base = path.substring(slash + 1);
      assertEquals(path, output.get("path").asText());
      assertEquals(base, output.get("base").asText());
      assertEquals("/thumbs/" + base.substring(0, base.lastIndexOf('.')) + ".jpg", output.get("out").asText());
      assertEquals(path.substring(0, slash), output.get("dir").asText());
      assertEquals(path.substring(0, path.lastIndexOf('.')), output.get("noext").asText());
      assertEquals(Integer.toString(i + 1), output.get("seq").asText());
    }
  }

  /**
   * 200,000 arguments on stdin, in input order and logged, through a CLI with a 48 MB heap that
   * exits on its first OutOfMemoryError: an {@code each} that held its arguments, its outputs or
   * its joblog would fail.
   */
  @Test
  void twoHundredThousandArguments_runInBoundedMemory_keepOrderAndJoblogToo() throws Exception {
    int jobs = 200_000;
    Path stdin = dir.resolve("many.txt");
    try (var out = Files.newBufferedWriter(stdin)) {
      for (int i = 1; i <= jobs; i++) {
        out.write("/data/some/directory/file-" + i + ".png\n");
      }
    }
    Path out = dir.resolve("many.out");
    Path log = dir.resolve("many.joblog");
    List<String> args = List.of("each", "--server", service.target(), "--progress", "never", "-k", "--max-in-flight", "512",
        "--joblog", log.toString(), "echo", "{\"f\": \"{/.}\"}");
    Process each = new ProcessBuilder(OffloadProcess.command(List.of("-Xmx48m", "-XX:+ExitOnOutOfMemoryError"),
        args.toArray(String[]::new))).redirectInput(stdin.toFile()).redirectOutput(out.toFile())
        .redirectError(dir.resolve("many.err").toFile()).start();
    assertTrue(each.waitFor(8, TimeUnit.MINUTES), "each finished");
    assertEquals(0, each.exitValue(), Files.readString(dir.resolve("many.err")));
    try (var lines = Files.lines(out)) {
      long[] expected = {1};
      lines.forEach(line -> assertEquals("{\"f\": \"file-" + expected[0]++ + "\"}", line));
      assertEquals(jobs + 1, expected[0]);
    }
    try (var lines = Files.lines(log)) {
      assertEquals(jobs + 1, lines.count());
    }
  }

  @Test
  void nulSeparated_namesWithNewlines_areOneArgumentEach() throws Exception {
    List<String> names = List.of("/tmp/two\nlines.txt", "/tmp/three\nmore\nlines.txt", "/tmp/plain.txt");
    byte[] stdin = (String.join("\0", names) + "\0").getBytes(StandardCharsets.UTF_8);
    Ran r = eachProcess(stdin, "-0", "--keep-order", "echo", "{\"p\": \"{}\"}");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(names, outputs(r.out()).stream().map(o -> o.get("p").asText()).toList());
  }

  @Test
  void noTemplate_numbersGoAsNumbers_theRestAsStrings_andTagPrefixesTheArgument() {
    Cli.Result r = each("--keep-order", "--tag", "echo", ":::", "7", "-2.5e3", "007", "a b", "--tag");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(List.of("7\t7", "-2.5e3\t-2.5e3", "007\t\"007\"", "a b\t\"a b\"", "--tag\t\"--tag\""), r.out().lines().toList());
  }

  @Test
  void keepOrder_manyJobsEndingOutOfOrder_comeOutInInputOrder_throughASmallWindow() {
    // The first job tries 50 million divisors, the others a few thousand: with two workers, the
    // jobs after it end first, and are held back until it has; its window slot is held as long.
    List<String> args = new ArrayList<>(List.of("--keep-order", "--max-in-flight", "4", "is_prime", ":::"));
    List<Long> numbers = new ArrayList<>(List.of(9_999_999_999_999_917L));
    for (int i = 1; i < 200; i++) {
      numbers.add(i % 5 == 0 ? 1_000_000_007L : 1_000_000_008L + i);
    }
    numbers.forEach(n -> args.add(Long.toString(n)));
    Cli.Result r = each(args.toArray(String[]::new));
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(numbers, outputs(r.out()).stream().map(o -> o.get("n").asLong()).toList());
  }

  @Test
  void exitStatus_isTheNumberOfFailedJobs_0_3_or101ForMoreThan100_andEachFailureIsOnStderr() {
    assertEquals(0, each("is_prime", ":::", "7", "8", "9").exitCode());

    Cli.Result three = each("is_prime", ":::", "7", "x", "8", "y", "z");
    assertEquals(3, three.exitCode(), three.err());
    assertEquals(2, three.out().lines().count());
    assertTrue(three.err().contains("job 2 \"x\" FAILED: HANDLER_ERROR: is_prime takes an integer"), three.err());
    assertTrue(three.err().contains("job 4 \"y\" FAILED"), three.err());

    List<String> args = new ArrayList<>(List.of("is_prime", ":::"));
    IntStream.range(0, 150).forEach(i -> args.add("not-a-number-" + i));
    args.add("11");
    Cli.Result many = each(args.toArray(String[]::new));
    assertEquals(101, many.exitCode(), many.err());
    assertEquals(150, many.err().lines().filter(l -> l.contains(" FAILED: ")).count());
  }

  @Test
  void anUnknownHandler_failsEveryJob_countedAsFailed() {
    Cli.Result r = each("no_such_handler", ":::", "1", "2");
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("did not run: INVALID_ARGUMENT"), r.err());
  }

  @Test
  void aServiceThatDoesNotAnswer_exits255() throws Exception {
    // Something listens, so no private pool starts, but it is no offload service: it hangs up.
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread hangUp = Thread.ofVirtual().start(() -> {
        while (!listener.isClosed()) {
          try (Socket ignored = listener.accept()) {
            // closed at once
          } catch (IOException closed) {
            return;
          }
        }
      });
      Cli.Result r = Cli.run("each", "--server", "127.0.0.1:" + listener.getLocalPort(), "--progress", "never", "echo", ":::", "1");
      assertEquals(255, r.exitCode(), r.err());
      assertTrue(r.err().contains("ended before its jobs did (UNAVAILABLE"), r.err());
      listener.close();
      hangUp.join();
    }
  }

  @Test
  void joblog_isGnuParallelsFormat_fieldByField() throws Exception {
    Path log = dir.resolve("fields.joblog");
    Cli.Result r = each("--joblog", log.toString(), "is_prime", ":::", "7", "x");
    assertEquals(1, r.exitCode(), r.err());
    List<String> lines = Files.readAllLines(log);
    assertEquals("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand", lines.get(0));
    assertEquals(3, lines.size(), lines.toString());
    double now = System.currentTimeMillis() / 1000.0;
    for (String line : lines.subList(1, 3)) {
      String[] f = line.split("\t", -1);
      assertEquals(9, f.length, line);
      assertTrue(f[0].equals("1") || f[0].equals("2"), "Seq: " + line);
      assertEquals(service.target(), f[1], "Host is the service");
      assertTrue(f[2].matches("\\d{10}\\.\\d{3}"), "Starttime, epoch seconds with 3 decimals: " + f[2]);
      assertTrue(Math.abs(Double.parseDouble(f[2]) - now) < 120, "Starttime is now: " + f[2]);
      assertTrue(f[3].matches(" *\\d+\\.\\d{3}") && f[3].length() >= 10, "JobRuntime, %10.3f: '" + f[3] + "'");
      assertEquals("0", f[4], "Send");
      assertEquals("0", f[7], "Signal");
      if (f[0].equals("1")) {
        assertEquals("{\"n\":7,\"prime\":true}".length() + 1, Integer.parseInt(f[5]), "Receive: the output line's bytes");
        assertEquals("0", f[6], "Exitval of a job that SUCCEEDED");
        assertEquals("is_prime 7", f[8], "Command: the handler and its input JSON");
      } else {
        assertEquals("0", f[5], "Receive: no output");
        assertEquals("1", f[6], "Exitval of a job that FAILED");
        assertEquals("is_prime \"x\"", f[8]);
      }
    }
  }

  @Test
  void joblog_matchesTheShapeOfRealGnuParallels() throws Exception {
    assumeTrue(onPath("parallel"), "GNU parallel is not installed (apt-get install parallel): nothing to compare with");
    Path theirs = dir.resolve("parallel.joblog");
    Process parallel = new ProcessBuilder("parallel", "--will-cite", "--joblog", theirs.toString(), "echo", ":::", "1", "2")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    assertTrue(parallel.waitFor(60, TimeUnit.SECONDS));
    Path ours = dir.resolve("ours.joblog");
    assertEquals(0, each("--joblog", ours.toString(), "echo", ":::", "1", "2").exitCode());

    List<String> theirLines = Files.readAllLines(theirs);
    List<String> ourLines = Files.readAllLines(ours);
    assertEquals(theirLines.get(0), ourLines.get(0), "the header");
    assertEquals(theirLines.size(), ourLines.size());
    for (int i = 1; i < theirLines.size(); i++) {
      String[] their = theirLines.get(i).split("\t", -1);
      String[] our = ourLines.get(i).split("\t", -1);
      assertEquals(their.length, our.length);
      for (int f = 0; f < their.length; f++) {
        if (f == 1 || f == 5 || f == 8) {
          continue; // Host, Receive and Command name other things
        }
        assertEquals(shape(their[f]), shape(our[f]), "field " + f + " of " + theirLines.get(i) + " and " + ourLines.get(i));
      }
    }
  }

  /** A field with its digits masked, so that two joblogs' numbers compare by format alone. */
  private static String shape(String field) {
    return field.replaceAll("[0-9]", "9");
  }

  @Test
  void resume_skipsTheJobsTheJoblogHas_andAppends() throws Exception {
    Path log = dir.resolve("resume.joblog");
    assertEquals(0, each("--joblog", log.toString(), "echo", ":::", "a", "b", "c").exitCode());

    Cli.Result r = each("--joblog", log.toString(), "--resume", "--keep-order", "echo", "{\"s\": \"{}-{#}\"}", ":::",
        "a", "b", "c", "d", "e");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(List.of("d-4", "e-5"), outputs(r.out()).stream().map(o -> o.get("s").asText()).toList());
    List<String> lines = Files.readAllLines(log);
    assertEquals(6, lines.size(), "one header and five jobs: " + lines);
    assertEquals(List.of("1", "2", "3", "4", "5"), lines.subList(1, 6).stream().map(l -> l.split("\t")[0]).sorted().toList());
  }

  @Test
  void resumeFailed_runsAgainTheJobsThatFailed_skipsThoseThatSucceeded_andRunsTheNewOnes() throws Exception {
    Path log = dir.resolve("failed.joblog");
    assertEquals(2, each("--joblog", log.toString(), "is_prime", ":::", "7", "x", "11", "y").exitCode());

    Cli.Result plain = each("--joblog", log.toString(), "--resume", "is_prime", ":::", "7", "8", "11", "13");
    assertEquals(0, plain.exitCode(), plain.err());
    assertEquals("", plain.out(), "--resume skips the failed ones too: they are in the log");

    Cli.Result r = each("--joblog", log.toString(), "--resume-failed", "--keep-order", "is_prime", ":::", "7", "8", "11", "13", "17");
    assertEquals(0, r.exitCode(), r.err());
    assertEquals(List.of(8L, 13L, 17L), outputs(r.out()).stream().map(o -> o.get("n").asLong()).toList());
    List<String> lines = Files.readAllLines(log);
    assertEquals(1 + 4 + 3, lines.size(), lines.toString());

    Cli.Result again = each("--joblog", log.toString(), "--resume-failed", "is_prime", ":::", "7", "8", "11", "13", "17");
    assertEquals(0, again.exitCode(), again.err());
    assertEquals("", again.out(), "every job has succeeded now");
  }

  @Test
  void haltNowFail1_cancelsTheJobsInFlight_andExits1() throws Exception {
    Set<String> earlier = service.client().wire().list(null).stream().map(Job::getId).collect(Collectors.toSet());
    Cli.Result r = each("--halt", "now,fail=1", "--max-in-flight", "3", "is_prime", ":::", "x", SLOW_PRIME, SLOW_PRIME, SLOW_PRIME);
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.err().contains("--halt now,fail=1"), r.err());
    Map<JobState, Long> ends = new EnumMap<>(JobState.class);
    for (Job job : service.client().wire().list(null)) {
      if (!earlier.contains(job.getId())) {
        ends.merge(service.client().wire().watch(job.getId(), e -> {}).getState(), 1L, Long::sum);
      }
    }
    assertEquals(1L, ends.get(JobState.FAILED), ends.toString());
    assertEquals(Set.of(JobState.FAILED, JobState.CANCELLED), ends.keySet(), "the slow ones were cancelled, none ran on: " + ends);
  }

  @Test
  void sigint_cancelsTheJobsInFlight_exits130_andLeavesAJoblogOfWholeLines() throws Exception {
    Path log = dir.resolve("interrupted.joblog");
    List<String> args = new ArrayList<>(List.of("each", "--server", service.target(), "--progress", "never",
        "--joblog", log.toString(), "is_prime", ":::", "7", "11", "13"));
    args.addAll(Collections.nCopies(4, SLOW_PRIME));
    Path output = dir.resolve("interrupted.out");
    Process each = new ProcessBuilder(OffloadProcess.command(List.of(), args.toArray(String[]::new)))
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    // A worker may hold a job sent ahead as RUNNING too: any slow one in flight will do.
    Await.until("the quick jobs are logged and slow ones run", Duration.ofSeconds(30), () -> loggedJobs(log) == 3
        && !service.client().wire().list(JobState.RUNNING).isEmpty());

    Signals.send("INT", each.pid());

    assertTrue(each.waitFor(30, TimeUnit.SECONDS), "each exited");
    assertEquals(130, each.exitValue(), Files.readString(output));
    String text = Files.readString(log);
    assertTrue(text.endsWith("\n"), "whole lines only");
    List<String> lines = text.lines().toList();
    assertEquals(4, lines.size(), "the header and the three jobs that ended: " + lines);
    for (String line : lines) {
      assertEquals(9, line.split("\t", -1).length, line);
    }
    Await.until("the slow jobs are cancelled", Duration.ofSeconds(30),
        () -> service.client().wire().list(JobState.RUNNING).isEmpty() && service.client().wire().list(JobState.QUEUED).isEmpty());
  }

  private static long loggedJobs(Path log) {
    try {
      return Files.exists(log) ? Math.max(0, Files.readAllLines(log).size() - 1) : 0;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean onPath(String command) {
    for (String directory : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, command))) {
        return true;
      }
    }
    return false;
  }
}
