package dev.offload.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One of the example projects under {@code scripts/examples/}, built on its own with Maven as its
 * README says, against the offload artifacts that this build installed in the local repository.
 *
 * <p>The build runs on a copy (so that the source tree gets no {@code target/} and two builds
 * never share one), offline (the project must build with exactly what offload's build
 * downloaded), with this JVM's JDK, with the outer build's Maven ({@code offload.test.mavenHome},
 * else {@code mvn} on the PATH) and its local repository ({@code offload.test.mavenRepo}), so that
 * it also works where that repository is not the default one, as in {@code scripts/fresh-check}.
 */
public final class ExampleProject {

  private static final Path EXAMPLES = Path.of("..", "scripts", "examples").toAbsolutePath().normalize();
  private static final long BUILD_LIMIT_SECONDS = 300;

  private ExampleProject() {}

  /**
   * Copies {@code scripts/examples/NAME} into {@code workDir/NAME}, checks that its parent is this
   * build's {@code offload-parent}, runs {@code mvn -B -q -o package} in the copy and fails with
   * Maven's output unless it succeeds within a bounded time. Returns the copy's directory. Skips
   * the calling test (an assumption) when no Maven can be found.
   */
  public static Path build(String name, Path workDir) throws IOException, InterruptedException {
    Path example = EXAMPLES.resolve(name);
    String version = System.getProperty("offload.version");
    assertTrue(Files.readString(example.resolve("pom.xml")).contains("<artifactId>offload-parent</artifactId>\n    <version>" + version + "</version>"),
        "the example " + name + "'s parent must be this build's offload-parent " + version + ": update scripts/examples/" + name + "/pom.xml");
    Optional<Path> mvn = maven();
    assumeTrue(mvn.isPresent(), "neither -Doffload.test.mavenHome nor mvn on the PATH: the example " + name + " cannot be built");

    Path project = workDir.resolve(name);
    copy(example.resolve("pom.xml"), project.resolve("pom.xml"));
    copy(example.resolve("src"), project.resolve("src"));
    List<String> command = new ArrayList<>(List.of(mvn.get().toString(), "-B", "-q", "-o"));
    String repository = System.getProperty("offload.test.mavenRepo");
    if (repository != null && !repository.isBlank()) {
      command.add("-Dmaven.repo.local=" + repository);
    }
    command.add("package");
    Path log = workDir.resolve(name + "-build.log");
    ProcessBuilder builder = new ProcessBuilder(command).directory(project.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process build = builder.start();
    if (!build.waitFor(BUILD_LIMIT_SECONDS, TimeUnit.SECONDS)) {
      build.descendants().forEach(ProcessHandle::destroyForcibly);
      build.destroyForcibly().waitFor();
      throw new AssertionError("'" + String.join(" ", command) + "' of the example " + name + " took over "
          + BUILD_LIMIT_SECONDS + " s and was stopped:\n" + Files.readString(log));
    }
    assertEquals(0, build.exitValue(), "'" + String.join(" ", command) + "' of the example " + name + " failed (it needs "
        + "offload-parent and the offload artifacts it uses in the local repository, which 'mvn install' of offload puts there):\n"
        + Files.readString(log));
    return project;
  }

  /** The outer build's Maven, else the first {@code mvn} on the PATH. */
  private static Optional<Path> maven() {
    String home = System.getProperty("offload.test.mavenHome");
    if (home != null && !home.isBlank() && Files.isExecutable(Path.of(home, "bin", "mvn"))) {
      return Optional.of(Path.of(home, "bin", "mvn"));
    }
    return Arrays.stream(Optional.ofNullable(System.getenv("PATH")).orElse("").split(File.pathSeparator))
        .filter(d -> !d.isBlank())
        .map(d -> Path.of(d, "mvn"))
        .filter(Files::isExecutable)
        .findFirst();
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path path : paths.toList()) {
        Path target = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.createDirectories(target.getParent());
          Files.copy(path, target);
        }
      }
    }
  }
}
