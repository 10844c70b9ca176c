package dev.offload.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code offload serve} as a child process of the test, on a Unix socket in a test's directory,
 * with its state directory there too unless the test names one: for what only a separate
 * supervisor process shows (signals to it, SIGSTOP or SIGKILL of it, a heap of its own). Its
 * stderr is read all along and kept line by line. Closing it kills what is left of it.
 */
public final class ServeProcess implements AutoCloseable {

  private static final Path LIB = OffloadProcess.cliLib();
  private static final Duration START_LIMIT = Duration.ofSeconds(60);
  private static final Pattern METRICS_AT = Pattern.compile("metrics on (http://\\S+/metrics)");

  private final Process process;
  private final Path socket;
  private final List<String> stderr = new CopyOnWriteArrayList<>();
  /** Counted down when serve's stderr ends: it and every worker writing there have exited. */
  private final CountDownLatch stderrEnded = new CountDownLatch(1);

  private ServeProcess(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  /**
   * Starts {@code serve --listen unix:DIR/s.sock --state-dir DIR/state --enable-test-handlers
   * ARGS...} ({@code --state-dir} only if ARGS do not name one) and returns once it says it is
   * serving (within a minute).
   *
   * @param jvmOptions options for the supervisor's JVM, such as {@code -Xmx48m}
   */
  public static ServeProcess start(Path dir, List<String> jvmOptions, String... args) throws Exception {
    assertTrue(Files.isDirectory(LIB), "the runnable lib/ folder is built in the package phase: " + LIB.toAbsolutePath());
    Path socket = dir.resolve("s.sock");
    List<String> all = new ArrayList<>(List.of("serve", "--listen", "unix:" + socket, "--enable-test-handlers"));
    if (!List.of(args).contains("--state-dir")) {
      all.addAll(List.of("--state-dir", dir.resolve("state").toString()));
    }
    all.addAll(List.of(args));
    Process process = new ProcessBuilder(OffloadProcess.command(jvmOptions, all.toArray(String[]::new)))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    ServeProcess serve = new ServeProcess(process, socket);
    CountDownLatch serving = new CountDownLatch(1);
    Thread.ofVirtual().name("serve-stderr").start(() -> {
      // Read to the end, so the service never blocks on a full pipe.
      try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        for (String line = err.readLine(); line != null; line = err.readLine()) {
          serve.stderr.add(line);
          if (line.contains("serving on")) {
            serving.countDown();
          }
        }
      } catch (IOException ended) {
        // The process is gone.
      } finally {
        serve.stderrEnded.countDown();
        serving.countDown();
      }
    });
    if (!serving.await(START_LIMIT.toSeconds(), TimeUnit.SECONDS) || !process.isAlive()) {
      serve.close();
      throw new AssertionError("offload serve did not come up within " + START_LIMIT.toSeconds() + " s"
          + (process.isAlive() ? "" : " (it exited " + process.exitValue() + ")") + "; its stderr:\n" + serve.stderr());
    }
    return serve;
  }

  /** The target for {@code --server}. */
  public String target() {
    return "unix:" + socket;
  }

  public Process process() {
    return process;
  }

  public long pid() {
    return process.pid();
  }

  /** The socket it serves on. */
  public Path socket() {
    return socket;
  }

  /** Everything serve has written to stderr so far (all of it after {@link #shutdown}). */
  public String stderr() {
    return String.join("\n", stderr);
  }

  /** The lines serve has written to stderr so far. */
  public List<String> stderrLines() {
    return List.copyOf(stderr);
  }

  public boolean stderrContains(String text) {
    return stderr.stream().anyMatch(line -> line.contains(text));
  }

  /** {@code offload stats --json}, parsed. */
  public JsonNode stats() {
    Cli.Result stats = Cli.run("stats", "--json", "--server", target());
    assertEquals(0, stats.exitCode(), stats.err());
    return Json.parse(stats.out());
  }

  /** {@code offload submit HANDLER INPUT OPTIONS...}, which must succeed: the new job's id. */
  public String submit(String handler, String input, String... options) {
    List<String> args = new ArrayList<>(List.of("submit", handler, input, "--server", target()));
    args.addAll(List.of(options));
    Cli.Result r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.exitCode(), r.err());
    return r.out().strip();
  }

  /** {@code offload status ID --json}, parsed. */
  public JsonNode status(String id) {
    Cli.Result r = Cli.run("status", id, "--json", "--server", target());
    assertEquals(0, r.exitCode(), "status " + id + ": " + r.err());
    return Json.parse(r.out());
  }

  /** A job's state, as {@code status} gives it. */
  public String state(String id) {
    return status(id).get("state").asText();
  }

  /** {@code offload list --json}: every job the service holds, by id. */
  public Map<String, JsonNode> jobs() {
    Cli.Result r = Cli.run("list", "--json", "--server", target());
    assertEquals(0, r.exitCode(), r.err());
    Map<String, JsonNode> jobs = new HashMap<>();
    Json.parse(r.out()).forEach(j -> jobs.put(j.get("id").asText(), j));
    return jobs;
  }

  /** The pids of the workers, in slot order (0 for a slot whose worker is starting). */
  public List<Long> workerPids() {
    List<Long> pids = new ArrayList<>();
    stats().get("workers").forEach(w -> pids.add(w.get("pid").asLong()));
    return pids;
  }

  /** The Prometheus text of its {@code --metrics} endpoint. */
  public String scrapeMetrics() throws IOException, InterruptedException {
    String url = stderr.stream().map(METRICS_AT::matcher).filter(Matcher::find).map(m -> m.group(1)).findFirst()
        .orElseThrow(() -> new IllegalStateException("serve was started without --metrics: " + stderr));
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    }
  }

  /**
   * A loopback address with a port free now, for {@code --metrics} (which takes no port 0, though
   * its help says it does).
   */
  public static String freeLoopbackAddress() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return "127.0.0.1:" + socket.getLocalPort();
    }
  }

  /** The value of one sample of the Prometheus text, by its name (a meter without tags). */
  public static double sample(String metrics, String name) {
    return metrics.lines().filter(l -> l.startsWith(name + " ")).map(l -> Double.parseDouble(l.substring(name.length() + 1).trim()))
        .findFirst().orElseThrow(() -> new AssertionError("no sample " + name + " in:\n" + metrics));
  }

  /**
   * Sends {@code offload shutdown} and waits (bounded) for serve to exit 0 and for the end of its
   * stderr, where workers without a log file write too.
   *
   * @param clientOptions further options of the shutdown command, such as {@code --token-file FILE}
   */
  public void shutdown(String... clientOptions) throws InterruptedException {
    List<String> command = new ArrayList<>(List.of("shutdown", "--server", target()));
    command.addAll(List.of(clientOptions));
    Cli.Result r = Cli.run(command.toArray(String[]::new));
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "serve did not exit within 30 s of offload shutdown");
    assertEquals(0, process.exitValue(), stderr());
    assertTrue(stderrEnded.await(10, TimeUnit.SECONDS), "serve's stderr still open 10 s after it exited");
  }

  /**
   * Stops serve if it still runs: SIGTERM, an orderly shutdown that ends its workers, then a kill
   * if it has not exited within 30 s (its workers follow by themselves).
   */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
