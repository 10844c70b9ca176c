package dev.offload.supervisor.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.worker.api.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code offload serve} as a child process of the test, on a Unix socket in a test's directory,
 * with its state directory there too: for what only a separate supervisor process shows (signals
 * to it, SIGSTOP of it, SIGKILL of it). Its stderr is read all along and kept. Closing it kills
 * what is left of it.
 */
public final class ServeProcess implements AutoCloseable {

  private static final Path LIB = Path.of("target", "lib");

  private final Process process;
  private final Path socket;
  private final StringBuffer stderr = new StringBuffer();
  /** Counted down when serve's stderr ends: it and every worker writing there have exited. */
  private final CountDownLatch stderrEnded = new CountDownLatch(1);

  private ServeProcess(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  /**
   * Starts {@code serve --listen unix:DIR/s.sock --state-dir DIR/state --enable-test-handlers
   * ARGS...} and returns once it says it is serving (within a minute).
   *
   * @param jvmOptions options for the supervisor's JVM, such as {@code -Djava.io.tmpdir=...}
   */
  public static ServeProcess start(Path dir, List<String> jvmOptions, String... args) throws Exception {
    assertTrue(Files.isDirectory(LIB), "the runnable lib/ folder is built in the package phase: " + LIB.toAbsolutePath());
    Path socket = dir.resolve("s.sock");
    List<String> all = new ArrayList<>(List.of("serve", "--listen", "unix:" + socket, "--state-dir", dir.resolve("state").toString(),
        "--enable-test-handlers"));
    all.addAll(List.of(args));
    Process process = new ProcessBuilder(OffloadProcess.command(jvmOptions, all.toArray(String[]::new)))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    ServeProcess serve = new ServeProcess(process, socket);
    CountDownLatch serving = new CountDownLatch(1);
    Thread.ofVirtual().name("serve-stderr").start(() -> {
      // Read to the end, so the service never blocks on a full pipe.
      try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = err.readLine()) != null) {
          serve.stderr.append(line).append('\n');
          if (line.contains("serving on")) {
            serving.countDown();
          }
        }
      } catch (IOException ended) {
        // The process is gone.
      } finally {
        serve.stderrEnded.countDown();
      }
    });
    if (!serving.await(60, TimeUnit.SECONDS)) {
      serve.close();
      throw new AssertionError("offload serve did not come up within 60 s; its stderr:\n" + serve.stderr());
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
    return stderr.toString();
  }

  /** {@code offload stats --json}, parsed. */
  public JsonNode stats() {
    Cli.Result stats = Cli.run("stats", "--json", "--server", target());
    assertEquals(0, stats.exitCode(), stats.err());
    return Json.parse(stats.out());
  }

  /** The pids of the workers, in slot order (0 for a slot whose worker is starting). */
  public List<Long> workerPids() {
    List<Long> pids = new ArrayList<>();
    stats().get("workers").forEach(w -> pids.add(w.get("pid").asLong()));
    return pids;
  }

  /**
   * Sends {@code offload shutdown} and waits (bounded) for serve to exit 0 and for the end of its
   * stderr, where workers without a log file write too.
   */
  public void shutdown() throws InterruptedException {
    Cli.Result r = Cli.run("shutdown", "--server", target());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "serve did not exit within 30 s of offload shutdown");
    assertEquals(0, process.exitValue(), stderr());
    assertTrue(stderrEnded.await(10, TimeUnit.SECONDS), "serve's stderr still open 10 s after it exited");
  }

  /** Kills serve if it still runs (its workers follow by themselves) and waits for it to end. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(Duration.ofSeconds(10).toMillis(), TimeUnit.MILLISECONDS);
    }
  }
}
