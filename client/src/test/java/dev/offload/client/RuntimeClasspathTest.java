package dev.offload.client;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * offload-client's resolved runtime class path (what an application that depends on it gets)
 * holds nothing but the artifacts in {@code runtime-classpath.allowed}. The build lists the class
 * path (maven-dependency-plugin's {@code list} goal, before the tests) into the file named by the
 * system property {@value #LIST_PROPERTY}.
 */
class RuntimeClasspathTest {

  private static final String LIST_PROPERTY = "offload.test.runtimeClasspath";
  private static final String ALLOWED = "runtime-classpath.allowed";

  @Test
  void runtimeClasspath_holdsOnlyAllowedArtifacts() throws IOException {
    Set<String> resolved = resolved();
    Set<String> allowed = allowed();
    assertTrue(resolved.contains("dev.offload:offload-proto"), "the class path list looks wrong, no offload-proto in: " + resolved);

    Set<String> extra = new TreeSet<>(resolved);
    extra.removeAll(allowed);
    if (!extra.isEmpty()) {
      fail("offload-client's runtime class path gained " + extra + ", which an application depending on offload-client"
          + " would now get too. Remove the dependency (or exclude what it drags in) in client/pom.xml; or, if it truly"
          + " belongs to the client, add it to client/src/test/resources/" + ALLOWED + " with the reason.");
    }
  }

  /** groupId:artifactId of each artifact in the dependency plugin's list. */
  private static Set<String> resolved() throws IOException {
    String list = System.getProperty(LIST_PROPERTY);
    assertTrue(list != null && Files.isRegularFile(Path.of(list)),
        "-D" + LIST_PROPERTY + " must name the runtime class path list that client/pom.xml has the dependency plugin"
            + " write before the tests (run the tests through Maven): " + list);
    // Lines such as "   io.netty:netty-transport-native-epoll:jar:linux-x86_64:4.2.17.Final:runtime -- module ...":
    // groupId:artifactId:type[:classifier]:version:scope, after a heading line.
    return Files.readAllLines(Path.of(list)).stream()
        .map(String::strip)
        .map(line -> line.split("\\s+")[0])
        .filter(coordinates -> coordinates.split(":").length >= 5)
        .map(coordinates -> coordinates.substring(0, coordinates.indexOf(':', coordinates.indexOf(':') + 1)))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Set<String> allowed() throws IOException {
    try (InputStream in = RuntimeClasspathTest.class.getResourceAsStream("/" + ALLOWED)) {
      assertTrue(in != null, ALLOWED + " is missing from the test resources");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
          .map(String::strip)
          .filter(line -> !line.isEmpty() && !line.startsWith("#"))
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }
}
