package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.Cli;
import dev.offload.testing.ExampleProject;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.testing.RunningService;
import dev.offload.testing.ServeProcess;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Plugin jars end to end. The example plugin (scripts/examples/plugin) is built with Maven as its
 * README says; its handlers are listed with the jar as their origin and run in real workers, of a
 * service and of a private pool. Two handlers with one name stop {@code offload serve} with a
 * message that names both jars, and a wrong {@code --handlers} path is a usage error.
 */
@ExtendWith(NoLeftoverProcesses.class)
class PluginIT {

  private static final Path LIB = OffloadProcess.cliLib();
  private static final long SERVE_LIMIT_SECONDS = 60;

  @TempDir static Path dir;
  static Path jar;
  static RunningService service;

  @BeforeAll
  static void buildTheExampleAndServeIt() throws Exception {
    jar = buildExample();
    service = RunningService.start(SupervisorConfig.defaults().withPool(RunningService.pool(1).handlerJars(List.of(jar)).build()), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    if (service != null) {
      service.close();
    }
  }

  /** Builds the example plugin as its README says; returns its jar. */
  private static Path buildExample() throws Exception {
    Path project = ExampleProject.build("plugin", dir);
    try (Stream<Path> jars = Files.list(project.resolve("target"))) {
      List<Path> built = jars.filter(p -> p.toString().endsWith(".jar")).toList();
      assertEquals(1, built.size(), "one jar in target/: " + built);
      return built.getFirst();
    }
  }

  @Test
  void handlers_listsThePluginsHandlersWithTheJarAsOrigin() {
    Cli.Result r = Cli.run("handlers", "--json", "--server", service.target());
    assertEquals(0, r.exitCode(), r.err());
    JsonNode handlers = Json.parse(r.out());
    for (String name : List.of("word_count", "fibonacci")) {
      JsonNode handler = find(handlers, name);
      assertEquals(jar.toString(), handler.get("origin").asText(), r.out());
      assertFalse(handler.get("description").asText().isBlank(), r.out());
    }
    assertEquals("built-in", find(handlers, "is_prime").get("origin").asText(), r.out());

    Cli.Result table = Cli.run("handlers", "--server", service.target());
    assertTrue(table.out().lines().anyMatch(l -> l.startsWith("word_count") && l.contains(jar.toString())), table.out());
  }

  @Test
  void run_wordCountOfText_printsTheCounts() {
    Cli.Result r = Cli.run("run", "word_count", "{\"text\": \"the cat and the hat\\nThe end.\"}", "--server", service.target());
    assertEquals(0, r.exitCode(), r.err());
    assertEquals("{\"lines\":1,\"words\":7,\"chars\":28,\"top\":[{\"word\":\"the\",\"count\":3},{\"word\":\"and\",\"count\":1},"
        + "{\"word\":\"cat\",\"count\":1},{\"word\":\"end\",\"count\":1},{\"word\":\"hat\",\"count\":1}]}", r.out().strip());
  }

  @Test
  void run_wordCountOfAFile_countsAsWcDoes() throws Exception {
    Path text = dir.resolve("words.txt");
    Files.writeString(text, "one two two\nthree three three\n".repeat(50_000), StandardCharsets.UTF_8);
    Cli.Result r = Cli.run("run", "word_count", Json.write(Json.object().put("path", text.toString()).put("top", 1)),
        "--server", service.target());
    assertEquals(0, r.exitCode(), r.err());
    JsonNode counts = Json.parse(r.out());
    assertEquals(100_000, counts.get("lines").asLong());
    assertEquals(300_000, counts.get("words").asLong());
    assertEquals(Files.size(text), counts.get("bytes").asLong());
    assertEquals("[{\"word\":\"three\",\"count\":150000}]", Json.write(counts.get("top")));
  }

  @Test
  void run_fibonacci_printsTheExactValue() {
    Cli.Result r = Cli.run("run", "fibonacci", "100", "--server", service.target());
    assertEquals(0, r.exitCode(), r.err());
    assertEquals("{\"n\":100,\"digits\":21,\"value\":\"354224848179261915075\"}", r.out().strip());
  }

  @Test
  void run_badInputToAPluginHandler_failsTheJobWithItsMessage() {
    Cli.Result r = Cli.run("run", "fibonacci", "-1", "--server", service.target());
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.err().contains("fibonacci takes N"), r.err());
  }

  @Test
  void runWithHandlers_noService_runsThePluginOnAPrivatePool() {
    Cli.Result r = Cli.run("run", "--handlers", jar.getParent().toString(), "fibonacci", "{\"n\": 90}",
        "--server", "unix:" + dir.resolve("nothing-here.sock"));
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.err().contains("private pool"), r.err());
    assertEquals("{\"n\":90,\"digits\":19,\"value\":\"2880067194370816120\"}", r.out().strip());
  }

  @Test
  void runWithHandlers_serviceRunning_isAUsageErrorPointingToServe() {
    Cli.Result r = Cli.run("run", "--handlers", jar.toString(), "echo", "1", "--server", service.target());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("offload serve"), r.err());
    assertTrue(r.out().isEmpty(), "no job ran: " + r.out());
  }

  @Test
  void handlersOption_missingPath_isAUsageErrorNamingIt() {
    Path missing = dir.resolve("no-such-plugin.jar");
    for (List<String> command : List.of(List.of("serve"), List.of("run", "echo", "1", "--server", service.target()))) {
      List<String> args = new ArrayList<>(command);
      args.addAll(List.of("--handlers", missing.toString()));
      Cli.Result r = Cli.run(args.toArray(String[]::new));
      assertEquals(2, r.exitCode(), command + ": " + r.err());
      assertTrue(r.err().contains(missing + " does not exist"), r.err());
    }
  }

  @Test
  void handlersOption_notAJarOrAnEmptyDirectory_isAUsageErrorNamingIt() throws Exception {
    Path notAJar = Files.writeString(dir.resolve("handlers.txt"), "not a jar");
    Path empty = Files.createDirectories(dir.resolve("no-jars-here"));
    Cli.Result r = Cli.run("serve", "--handlers", notAJar.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains(notAJar + " is not a jar"), r.err());
    r = Cli.run("serve", "--handlers", empty.toString());
    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains(empty + " is a directory without *.jar files"), r.err());
  }

  @Test
  void serve_twoJarsWithOneHandlerName_exitsNamingBothJarsAndServesNothing() throws Exception {
    Path other = Files.createDirectories(dir.resolve("other")).resolve("word-count-rewrite.jar");
    writeHandlerJar(other, "rewrite.WordCount", "word_count");

    ServeResult serve = serve("--handlers", jar.toString(), "--handlers", other.toString());

    assertEquals(1, serve.exitCode(), serve.err());
    assertTrue(serve.err().contains("two handlers are named 'word_count'"), serve.err());
    assertTrue(serve.err().contains(jar.toString()) && serve.err().contains(other.toString()), serve.err());
    assertFalse(Files.exists(serve.socket()), "nothing was served");
  }

  @Test
  void serve_twoCopiesOfThePlugin_exitsNamingBothJarsAndServesNothing() throws Exception {
    Path copies = Files.createDirectories(dir.resolve("copies"));
    Path first = Files.copy(jar, copies.resolve("plugin-1.0.jar"));
    Path second = Files.copy(jar, copies.resolve("plugin-1.1.jar"));

    ServeResult serve = serve("--handlers", copies.toString());

    assertEquals(1, serve.exitCode(), serve.err());
    assertTrue(serve.err().contains(first.toString()) && serve.err().contains(second.toString()), serve.err());
    assertTrue(serve.err().contains("refused to start"), serve.err());
    assertFalse(Files.exists(serve.socket()), "nothing was served");
  }

  @Test
  void serve_jarsThatListNoHandler_saysSoNamingThem() throws Exception {
    Path library = Files.createDirectories(dir.resolve("library")).resolve("word-stemmer.jar");
    writeLibraryJar(library);

    // Alone, it adds nothing: the services file must be missing, and serve warns.
    try (ServeProcess serve = ServeProcess.start(Files.createDirectories(dir.resolve("serve-library")), List.of(),
        "--workers", "1", "--handlers", library.toString())) {
      assertTrue(serve.stderrLines().stream()
          .anyMatch(l -> l.startsWith("offload: WARN: the plugin jar " + library + " lists no handler, so it adds none")), serve.stderr());
      assertTrue(serve.stderr().contains("META-INF/services/" + JobHandler.class.getName()), serve.stderr());
    }
    // Beside a plugin, it may be the plugin's library: serve says so, without a warning.
    try (ServeProcess serve = ServeProcess.start(Files.createDirectories(dir.resolve("serve-plugin-and-library")), List.of(),
        "--workers", "1", "--handlers", jar.toString(), "--handlers", library.toString())) {
      assertTrue(serve.stderrContains("the plugin jar " + library + " lists no handler"), serve.stderr());
      assertTrue(serve.stderrContains("loaded as a library"), serve.stderr());
      assertFalse(serve.stderrContains("WARN"), serve.stderr());
    }
  }

  private record ServeResult(int exitCode, String err, Path socket) {}

  /** Runs {@code offload serve} as its own process, from the runnable lib/ folder, until it exits. */
  private static ServeResult serve(String... handlers) throws Exception {
    assertTrue(Files.isDirectory(LIB), "the runnable lib/ folder is built in the package phase: " + LIB);
    Path socket = Files.createTempDirectory(dir, "serve").resolve("s.sock");
    Path err = socket.resolveSibling("serve.err");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
        "-cp", LIB + File.separator + "*", Main.class.getName(), "serve", "--listen", "unix:" + socket, "--workers", "2"));
    command.addAll(Arrays.asList(handlers));
    Process serve = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
    if (!serve.waitFor(SERVE_LIMIT_SECONDS, TimeUnit.SECONDS)) {
      serve.destroyForcibly().waitFor();
      throw new AssertionError("offload serve is still running; it should have refused to start:\n" + Files.readString(err));
    }
    return new ServeResult(serve.exitValue(), Files.readString(err), socket);
  }

  /** Compiles a handler named {@code name} that echoes its input, and writes a plugin jar of it. */
  private static void writeHandlerJar(Path jar, String className, String name) throws IOException {
    int dot = className.lastIndexOf('.');
    String source = """
        package %s;
        public final class %s implements dev.offload.sdk.JobHandler {
          public String name() { return "%s"; }
          public String description() { return "Test plugin: echoes its input"; }
          public String run(String input, dev.offload.sdk.JobContext context) { return input; }
        }
        """.formatted(className.substring(0, dot), className.substring(dot + 1), name);
    Path classes = Files.createTempDirectory(dir, "classes");
    JavaFileObject unit = new SimpleJavaFileObject(URI.create("string:///" + className.replace('.', '/') + ".java"), JavaFileObject.Kind.SOURCE) {
      @Override
      public CharSequence getCharContent(boolean ignoreEncodingErrors) {
        return source;
      }
    };
    StringWriter errors = new StringWriter();
    boolean compiled = ToolProvider.getSystemJavaCompiler()
        .getTask(errors, null, null, List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path"), "-proc:none"), null, List.of(unit))
        .call();
    assertTrue(compiled, errors.toString());
    String entry = className.replace('.', '/') + ".class";
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      out.putNextEntry(new JarEntry(entry));
      out.write(Files.readAllBytes(classes.resolve(entry)));
      out.putNextEntry(new JarEntry("META-INF/services/" + JobHandler.class.getName()));
      out.write((className + "\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Writes a jar of resources only, and no services file: a library, as far as offload can tell. */
  private static void writeLibraryJar(Path jar) throws IOException {
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      out.putNextEntry(new JarEntry("stemmer/suffixes.txt"));
      out.write("ing\ned\ns\n".getBytes(StandardCharsets.UTF_8));
    }
  }

  private static JsonNode find(JsonNode handlers, String name) {
    for (JsonNode handler : handlers) {
      if (handler.get("name").asText().equals(name)) {
        return handler;
      }
    }
    throw new AssertionError("no handler '" + name + "' in " + handlers);
  }
}
