package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.RunningService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a client command costs at start-up (issue 17): it loads neither Logback nor the metrics
 * libraries nor the service's classes, and the CLI's class-data-sharing archive serves it
 * without a warning or an error, with the JVM options scripts/offload gives. Each command runs as
 * its own JVM, as from the launcher, with its class-load log in a file.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ClientStartupIT {

  /** Packages whose classes a client command has no use for. */
  private static final List<String> NOT_IN_A_CLIENT = List.of(
      "ch.qos.logback.", "io.prometheus.", "io.micrometer.", "dev.offload.supervisor.server.", "org.sqlite.", "org.postgresql.");

  private static final Pattern LOADED = Pattern.compile("\\[class,load\\] (\\S+) source: (.*)");

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(1), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  @Test
  void version_loadsNoLoggingMetricsOrServiceClasses_andTheArchiveServesItQuietly() throws Exception {
    Started version = start("version", "--version");
    assertTrue(version.out().startsWith("offload "), version.out());
    version.assertClientOnly();
    assertTrue(version.classes().stream().noneMatch(c -> c[0].equals("picocli.CommandLine$Model$CommandSpec")),
        "--version builds no picocli model of the command");
  }

  @Test
  void runAgainstAService_loadsNoLoggingMetricsOrServiceClasses_andTheArchiveServesItQuietly() throws Exception {
    Started run = start("run", "run", "echo", "{\"n\": 1}", "--server", service.target());
    assertEquals("{\"n\": 1}", run.out().strip());
    run.assertClientOnly();
    assertTrue(Files.exists(archive()), "the build made the client archive (its output says why not): " + archive());
    // client.jsa is made from a run like this one (see cli/src/build/client-archive.sh): had the
    // training other options than the launcher's, the run would load hundreds of classes from the
    // jars and the JDK's image. A few may still come from there, on paths that depend on timing
    // (Netty records a leak for one buffer in 128, at random), but none of the CLI's own.
    List<String> notArchived = run.classes().stream()
        .filter(c -> c[1].startsWith("file:") || c[1].startsWith("jar:") || c[1].startsWith("jrt:"))
        .map(c -> c[0] + " from " + c[1]).toList();
    assertEquals(List.of(), notArchived.stream().filter(c -> c.startsWith("dev.offload.") || c.startsWith("picocli.")).toList(),
        "the CLI's classes come from client.jsa");
    assertTrue(notArchived.size() <= 10, "all but a few classes of the run come from client.jsa: " + notArchived);
  }

  /** One command's exit, output and the classes its JVM loaded, with where from. */
  private record Started(String out, String err, List<String[]> classes) {

    void assertClientOnly() {
      assertEquals("", err, "a client command writes nothing on stderr: no JVM warning about the archive, no logging set-up");
      List<String> unwanted = classes.stream().map(c -> c[0]).filter(c -> NOT_IN_A_CLIENT.stream().anyMatch(c::startsWith)).toList();
      assertEquals(List.of(), unwanted, "classes a client command should not load");
      if (Files.exists(archive())) {
        long shared = classes.stream().filter(c -> c[1].startsWith("shared objects file")).count();
        assertTrue(shared > classes.size() / 2, "most classes come from the archive: " + shared + " of " + classes.size());
        // picocli is compiled from source with the CLI (see the cli pom) so that the archive can hold it.
        List<String> picocliFromJars = classes.stream()
            .filter(c -> c[0].startsWith("picocli.") && !c[1].startsWith("shared objects file")).map(c -> c[0] + " from " + c[1]).toList();
        assertEquals(List.of(), picocliFromJars, "picocli's classes come from the archive");
      }
    }
  }

  /**
   * Runs the CLI with the JVM options of scripts/offload for a client command, which {@link
   * OffloadProcess#command} gives it (the CLI's archive if the build made one, the JVM's warnings
   * on stderr), with a log of the classes it loads, and waits for it to exit 0.
   */
  private static Started start(String name, String... args) throws IOException, InterruptedException {
    Path log = dir.resolve(name + ".classes");
    List<String> options = List.of("-Xlog:class+load:file=" + log);
    Path errFile = dir.resolve(name + ".err");
    Process process = new ProcessBuilder(OffloadProcess.command(options, args)).redirectError(errFile.toFile()).start();
    process.getOutputStream().close();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "offload " + String.join(" ", args) + " did not exit");
    String err = Files.readString(errFile);
    assertEquals(0, process.exitValue(), err);
    List<String[]> classes = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      Matcher m = LOADED.matcher(line);
      if (m.find()) {
        classes.add(new String[] {m.group(1), m.group(2)});
      }
    }
    assertTrue(classes.size() > 100, "the class-load log holds the classes: " + log);
    return new Started(out, err, classes);
  }

  /**
   * The archive of a client command against a service, as the build makes it beside the CLI's
   * lib/ (see the cli pom), which the launcher and {@link OffloadProcess#command} give both
   * commands here.
   */
  private static Path archive() {
    return OffloadProcess.cliLib().resolveSibling("cds").resolve("client.jsa");
  }
}
