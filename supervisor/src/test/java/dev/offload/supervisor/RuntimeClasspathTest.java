package dev.offload.supervisor;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * offload-supervisor's resolved runtime class path (what an application embedding a {@link
 * ProcessPool} gets) brings no logging backend and nothing of the CLI: those belong to offload-cli
 * and to the worker distribution, which the supervisor carries packed, never on a class path. The
 * build lists the class path (maven-dependency-plugin's {@code list} goal, before the tests) into
 * the file named by the system property {@value #LIST_PROPERTY}.
 */
class RuntimeClasspathTest {

  private static final String LIST_PROPERTY = "offload.test.runtimeClasspath";

  /** What must not be on the class path: a groupId:artifactId, or a whole group as "groupId:". */
  private static final List<String> FORBIDDEN = List.of(
      // logging backends and SLF4J bindings: the embedding application chooses its own
      "ch.qos.logback:",
      "org.slf4j:slf4j-simple",
      "org.slf4j:slf4j-reload4j",
      "org.slf4j:slf4j-log4j12",
      "org.slf4j:slf4j-jdk14",
      "org.slf4j:slf4j-nop",
      "org.apache.logging.log4j:",
      "log4j:",
      // the CLI's libraries
      "info.picocli:",
      "me.tongfei:",
      "org.jline:",
      // the worker and what only it needs: it runs on its own distribution
      "dev.offload:offload-worker",
      "dev.offload:offload-cli",
      "com.github.luben:",
      "org.tukaani:");

  @Test
  void runtimeClasspath_bringsNoLoggingBackendCliOrWorker() throws IOException {
    Set<String> resolved = resolved();
    assertTrue(resolved.contains("dev.offload:offload-client"), "the class path list looks wrong, no offload-client in: " + resolved);

    Set<String> forbidden = resolved.stream()
        .filter(artifact -> FORBIDDEN.stream().anyMatch(f -> f.endsWith(":") ? artifact.startsWith(f) : artifact.equals(f)))
        .collect(Collectors.toCollection(TreeSet::new));
    if (!forbidden.isEmpty()) {
      fail("offload-supervisor's runtime class path holds " + forbidden + ", which every application embedding a"
          + " ProcessPool would get: a logging backend takes the application's choice away, and the CLI's and worker's"
          + " libraries are not the pool's. Find what brings it (mvn dependency:tree -pl supervisor) and make it test,"
          + " provided or excluded in supervisor/pom.xml.");
    }
  }

  private static Set<String> resolved() throws IOException {
    String list = System.getProperty(LIST_PROPERTY);
    assertTrue(list != null && Files.isRegularFile(Path.of(list)),
        "-D" + LIST_PROPERTY + " must name the runtime class path list that supervisor/pom.xml has the dependency"
            + " plugin write before the tests (run the tests through Maven): " + list);
    // Lines such as "   org.slf4j:slf4j-api:jar:2.0.17:compile -- module org.slf4j", after a heading line.
    return Files.readAllLines(Path.of(list)).stream()
        .map(String::strip)
        .map(line -> line.split("\\s+")[0])
        .filter(coordinates -> coordinates.split(":").length >= 5)
        .map(coordinates -> coordinates.substring(0, coordinates.indexOf(':', coordinates.indexOf(':') + 1)))
        .collect(Collectors.toCollection(TreeSet::new));
  }
}
