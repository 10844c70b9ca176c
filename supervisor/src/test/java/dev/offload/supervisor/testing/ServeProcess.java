package dev.offload.supervisor.testing;

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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.opentest4j.AssertionFailedError;

/**
 * {@code offload serve} as its own process, with JVM options of its own (a small heap, say), its
 * stderr kept line by line for tests to read. Closing it sends SIGTERM and waits, bounded, then
 * kills what is left.
 */
public final class ServeProcess implements AutoCloseable {

  private static final Path LIB = Path.of("target", "lib");
  private static final Duration START_LIMIT = Duration.ofSeconds(60);
  private static final Pattern METRICS_AT = Pattern.compile("metrics on (http://\\S+/metrics)");

  private final Process process;
  private final String target;
  private final List<String> stderr = new CopyOnWriteArrayList<>();

  private ServeProcess(Process process, String target) {
    this.process = process;
    this.target = target;
    Thread.ofPlatform().daemon().name("serve-stderr").start(this::drainStderr);
  }

  /**
   * Starts {@code serve --listen unix:DIR/s.sock --enable-test-handlers ARGS} and waits, bounded,
   * until it says it is serving.
   */
  public static ServeProcess start(Path dir, List<String> jvmOptions, String... args) throws Exception {
    if (!Files.isDirectory(LIB)) {
      throw new IllegalStateException("the runnable lib/ folder is built in the package phase: " + LIB.toAbsolutePath());
    }
    String target = "unix:" + dir.resolve("s.sock");
    List<String> all = new ArrayList<>(List.of("serve", "--listen", target, "--enable-test-handlers"));
    all.addAll(List.of(args));
    Process process = new ProcessBuilder(OffloadProcess.command(jvmOptions, all.toArray(String[]::new)))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    ServeProcess serve = new ServeProcess(process, target);
    try {
      Await.until("offload serve to say it is serving", START_LIMIT, () -> serve.stderrContains("serving on") || !process.isAlive());
    } catch (AssertionFailedError e) {
      serve.close();
      throw new AssertionFailedError(e.getMessage() + "; its stderr: " + serve.stderr());
    }
    if (!process.isAlive()) {
      throw new AssertionFailedError("offload serve exited " + process.exitValue() + "; its stderr: " + serve.stderr());
    }
    return serve;
  }

  /** The target for {@code --server}. */
  public String target() {
    return target;
  }

  public Process process() {
    return process;
  }

  /** The lines it has written to stderr so far. */
  public List<String> stderr() {
    return List.copyOf(stderr);
  }

  public boolean stderrContains(String text) {
    return stderr.stream().anyMatch(line -> line.contains(text));
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

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy(); // SIGTERM: an orderly shutdown, workers included
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private void drainStderr() {
    try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line = err.readLine(); line != null; line = err.readLine()) {
        stderr.add(line);
      }
    } catch (IOException ended) {
      // The process is gone.
    }
  }
}
