package dev.offload.worker;

import dev.offload.wire.PluginJars;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;

/**
 * Plugin jars made by a test: classes compiled from source at test time, so that they exist in
 * that jar only (a class on the test class path would load from there, parent first, and never
 * from the jar).
 */
final class TestJars {

  private TestJars() {}

  /** The source of a handler class {@code plugin.<simpleName>} named {@code name} that echoes its input. */
  static String echoHandler(String simpleName, String name) {
    return """
        package plugin;
        public final class %s implements dev.offload.sdk.JobHandler {
          public String name() { return "%s"; }
          public String description() { return "Test plugin: echoes its input"; }
          public String run(String input, dev.offload.sdk.JobContext context) { return input; }
        }
        """.formatted(simpleName, name);
  }

  /**
   * Compiles sources against the test class path and writes a jar of the classes, with a services
   * file of the given lines (none if there are no lines).
   *
   * @param sources fully qualified class name to source text
   * @param leaveOut classes compiled but not put in the jar (to make one that misses a class)
   */
  static Path jar(Path jar, Map<String, String> sources, List<String> services, String... leaveOut) throws IOException {
    Path classes = Files.createTempDirectory(jar.getParent(), "classes");
    compile(sources, classes);
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      try (Stream<Path> files = Files.walk(classes)) {
        for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
          String entry = classes.relativize(file).toString().replace('\\', '/');
          String type = entry.substring(0, entry.length() - ".class".length()).replace('/', '.');
          if (List.of(leaveOut).contains(type)) {
            continue;
          }
          put(out, entry, Files.readAllBytes(file));
        }
      }
      if (!services.isEmpty()) {
        put(out, PluginJars.SERVICES, String.join("\n", services).concat("\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    return jar;
  }

  /** A jar with no classes, only a services file (none if there are no lines). */
  static Path servicesOnly(Path jar, List<String> services) throws IOException {
    return jar(jar, Map.of(), services);
  }

  private static void put(JarOutputStream out, String name, byte[] bytes) throws IOException {
    out.putNextEntry(new JarEntry(name));
    out.write(bytes);
    out.closeEntry();
  }

  private static void compile(Map<String, String> sources, Path classes) {
    if (sources.isEmpty()) {
      return;
    }
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    List<JavaFileObject> units = sources.entrySet().stream()
        .map(e -> (JavaFileObject) new SimpleJavaFileObject(
            URI.create("string:///" + e.getKey().replace('.', '/') + ".java"), JavaFileObject.Kind.SOURCE) {
          @Override
          public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return e.getValue();
          }
        })
        .toList();
    StringWriter errors = new StringWriter();
    List<String> options = List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path"), "-proc:none");
    if (!compiler.getTask(errors, null, null, options, null, units).call()) {
      throw new IllegalStateException("test plugin sources do not compile:\n" + errors);
    }
  }
}
