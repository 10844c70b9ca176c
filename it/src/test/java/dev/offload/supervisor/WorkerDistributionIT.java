package dev.offload.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.NoLeftoverProcesses;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * An application that embeds a pool with offload-supervisor and its libraries alone on its class
 * path (not the CLI's, and another SLF4J backend first): its workers run on the worker distribution
 * that offload-supervisor carries, extracted once into the user's cache directory and reused, and
 * nothing of the application's class path reaches them.
 */
@ExtendWith(NoLeftoverProcesses.class)
class WorkerDistributionIT {

  private static final Duration APP_LIMIT = Duration.ofSeconds(60);
  /** A path in the dependency plugin's list with absolute file names: "g:a:jar:v:scope:/path.jar -- module ...". */
  private static final Pattern LISTED_FILE = Pattern.compile(":(/\\S+)");

  @TempDir Path dir;

  @Test
  void embeddedPool_extractsTheWorkerDistributionOnceAndRunsWorkersOnItAlone() throws Exception {
    Path cache = dir.resolve("cache");
    List<String> hostClasspath = hostClasspath();

    long workerPid;
    List<String> workerCommand;
    Process app = start(hostClasspath, cache);
    try (BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
      // Its log (stderr, merged) first, then the pid; the output ends at the latest when the app exits.
      StringBuilder before = new StringBuilder();
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("worker-pid ")) {
        before.append(line).append('\n');
      }
      assertTrue(line != null, "the app printed no worker pid:\n" + before);
      workerPid = Long.parseLong(line.substring("worker-pid ".length()));
      workerCommand = cmdline(workerPid);
      app.getOutputStream().close(); // the app closes its pool and exits
      assertExitsOk(app, out);
    } finally {
      app.destroyForcibly().waitFor();
    }

    Path workerDir = onlyWorkerDir(cache);
    assertTrue(Files.exists(workerDir.resolve("complete")), "no 'complete' marker in " + workerDir);
    Path lib = workerDir.resolve("lib");
    List<Path> jars;
    try (Stream<Path> files = Files.list(lib)) {
      jars = files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
    }
    assertTrue(jars.stream().anyMatch(j -> j.getFileName().toString().startsWith("offload-worker-")), "no worker jar in " + lib + ": " + jars);
    assertTrue(jars.stream().anyMatch(j -> j.getFileName().toString().startsWith("logback-classic-")), "no Logback in " + lib + ": " + jars);

    int cp = workerCommand.indexOf("-cp");
    assertTrue(cp >= 0 && cp + 1 < workerCommand.size(), "the worker has no -cp: " + workerCommand);
    List<String> workerClasspath = List.of(workerCommand.get(cp + 1).split(File.pathSeparator));
    assertEquals(jars.stream().map(Path::toString).toList(), workerClasspath,
        "the worker's class path is not the extracted distribution's jars");
    for (String entry : workerClasspath) {
      assertFalse(hostClasspath.contains(entry), "the app's class path entry " + entry + " reached its worker");
    }

    // A second app on the same machine (same cache) reuses the extracted distribution.
    FileTime extracted = Files.getLastModifiedTime(workerDir.resolve("complete"));
    Process second = start(hostClasspath, cache);
    try (BufferedReader out = new BufferedReader(new InputStreamReader(second.getInputStream(), StandardCharsets.UTF_8))) {
      second.getOutputStream().close(); // it exits once its job is done
      assertExitsOk(second, out);
    } finally {
      second.destroyForcibly().waitFor();
    }
    assertEquals(workerDir, onlyWorkerDir(cache), "the second app did not reuse " + workerDir);
    assertEquals(extracted, Files.getLastModifiedTime(workerDir.resolve("complete")), "the second app extracted again");
  }

  /** The host app's class path: slf4j-simple first, the fixture, offload-supervisor and its libraries. */
  private static List<String> hostClasspath() throws Exception {
    String simple = System.getProperty("offload.test.slf4jSimpleJar");
    String supervisorJar = System.getProperty("offload.test.supervisorJar");
    String list = System.getProperty("offload.test.supervisorClasspath");
    for (String file : new String[] {simple, supervisorJar, list}) {
      assertTrue(file != null && Files.isRegularFile(Path.of(file)), "it/pom.xml's failsafe configuration names a file that is"
          + " not there (build offload-supervisor with mvn install first): " + file);
    }
    List<String> classpath = new ArrayList<>();
    classpath.add(simple);
    classpath.add(Path.of(EmbeddingApp.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
    classpath.add(supervisorJar);
    for (String line : Files.readAllLines(Path.of(list))) {
      Matcher file = LISTED_FILE.matcher(line);
      if (file.find()) {
        classpath.add(file.group(1));
      }
    }
    assertTrue(classpath.stream().anyMatch(e -> e.contains("offload-client")), "no offload-client in " + list + ": " + classpath);
    List<String> notTheSupervisors = classpath.stream()
        .filter(e -> Path.of(e).getFileName().toString().matches("(logback-|offload-worker-|offload-cli-).*"))
        .toList();
    assertTrue(notTheSupervisors.isEmpty(), "the supervisor's class path holds what only the CLI or the worker should: " + notTheSupervisors);
    return classpath;
  }

  /** Starts {@link EmbeddingApp} as a host application would: no offload system property, its own cache directory. */
  private static Process start(List<String> classpath, Path cache) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED",
        "-cp", String.join(File.pathSeparator, classpath),
        EmbeddingApp.class.getName())
        .redirectErrorStream(true);
    builder.environment().put("XDG_CACHE_HOME", cache.toString());
    return builder.start();
  }

  private static void assertExitsOk(Process app, BufferedReader out) throws Exception {
    String output = rest(out); // to its end, which comes when the app exits
    assertTrue(app.waitFor(APP_LIMIT.toSeconds(), TimeUnit.SECONDS), "the app did not exit within " + APP_LIMIT.toSeconds() + " s");
    assertEquals(0, app.exitValue(), "the app failed; its output: " + output);
  }

  /** What the app wrote that was not read yet; called once it has exited. */
  private static String rest(BufferedReader out) throws Exception {
    StringBuilder text = new StringBuilder();
    for (String line; (line = out.readLine()) != null; ) {
      text.append(line).append('\n');
    }
    return text.toString();
  }

  private static List<String> cmdline(long pid) throws Exception {
    byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
    return List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
  }

  private static Path onlyWorkerDir(Path cache) throws Exception {
    try (Stream<Path> dirs = Files.list(cache.resolve("offload"))) {
      List<Path> all = dirs.toList();
      assertEquals(1, all.size(), "the cache should hold the one extracted distribution, nothing half-done: " + all);
      Path only = all.getFirst();
      assertTrue(only.getFileName().toString().matches("worker-[0-9a-f]{16}"), "not a distribution's directory: " + only);
      return only;
    }
  }
}
