package dev.offload.wire;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Plugin jars of handlers ({@code offload serve --handlers}): the paths a user gives, checked and
 * expanded to jars, and the class loader a worker loads their handlers with. The supervisor
 * expands the paths once, before it starts any worker, and hands every worker the same jars.
 */
public final class PluginJars {

  /** The system property that gives a worker its plugin jars, joined with {@link File#pathSeparator}. */
  public static final String PROPERTY = "offload.worker.handlers";

  /**
   * The services file that lists a jar's handler classes: named after the SDK's {@code
   * dev.offload.sdk.JobHandler}, spelled out because this module does not depend on the SDK (the
   * worker's tests check that the two agree).
   */
  public static final String SERVICES = "META-INF/services/dev.offload.sdk.JobHandler";

  private PluginJars() {}

  /**
   * The jars that paths stand for: a jar stands for itself, a directory for the {@code *.jar}
   * files directly in it, by name. A jar given twice counts once.
   *
   * @param paths jars and directories of jars
   * @return the jars, in the order given (a directory's by name)
   * @throws IllegalArgumentException if a path does not exist, is neither a jar nor a directory,
   *     cannot be read, or is a directory without jars; the message names the path and says what
   *     to do
   */
  public static List<Path> expand(List<Path> paths) {
    Map<Path, Path> jars = new LinkedHashMap<>();
    for (Path path : paths) {
      for (Path jar : jarsOf(path)) {
        jars.putIfAbsent(realPath(jar), jar);
      }
    }
    return List.copyOf(jars.values());
  }

  /**
   * The jars in a value of {@link #PROPERTY}, or none for null or blank.
   *
   * @param property the property's value, or null
   * @return the jars it names
   */
  public static List<Path> parse(String property) {
    if (property == null || property.isBlank()) {
      return List.of();
    }
    return Arrays.stream(property.split(File.pathSeparator)).filter(s -> !s.isBlank()).map(Path::of).toList();
  }

  /**
   * {@code jars} as a value of {@link #PROPERTY}.
   *
   * @param jars the jars
   * @return their paths, joined with {@link File#pathSeparator}
   */
  public static String format(List<Path> jars) {
    return String.join(File.pathSeparator, jars.stream().map(p -> p.toAbsolutePath().toString()).toList());
  }

  /**
   * A class loader over the jars whose parent is {@code parent}: the worker's classes (the SDK,
   * Jackson) come first, and all jars share the loader, so a plugin's libraries can be jars of
   * their own. The loader is never closed; it lives as long as the worker.
   *
   * @param jars the plugin jars
   * @param parent the loader of the worker's own classes
   * @return the loader
   * @throws IllegalStateException if two jars list the same handler class (two copies or two
   *     versions of one plugin: only the first would ever load); the message names both jars
   */
  public static URLClassLoader classLoader(List<Path> jars, ClassLoader parent) {
    Map<String, Path> listedBy = new LinkedHashMap<>();
    for (Path jar : jars) {
      for (String type : handlerClasses(jar)) {
        Path first = listedBy.putIfAbsent(type, jar);
        if (first != null) {
          throw new IllegalStateException("handler class " + type + " is listed by two jars, " + first + " and " + jar
              + ": two copies or versions of one plugin? Give offload only one of them");
        }
      }
    }
    URL[] urls = new URL[jars.size()];
    for (int i = 0; i < urls.length; i++) {
      try {
        urls[i] = jars.get(i).toUri().toURL();
      } catch (MalformedURLException e) {
        throw new IllegalArgumentException("plugin jar " + jars.get(i) + " has no URL: " + e.getMessage(), e);
      }
    }
    return new URLClassLoader("offload-plugins", urls, parent);
  }

  /**
   * The jars among {@code jars} that list no handler: no {@link #SERVICES} file, or one that names
   * no class. Such a jar adds no handler; it can only be a library for the others' handlers.
   *
   * @param jars the plugin jars
   * @return those that list no handler, in the order given
   * @throws IllegalArgumentException if a jar cannot be read
   */
  public static List<Path> withoutHandlers(List<Path> jars) {
    return jars.stream().filter(jar -> handlerClasses(jar).isEmpty()).toList();
  }

  /**
   * The class names a services file lists: one a line, {@code #} starting a comment.
   *
   * @param services the file's content, read to its end and not closed
   * @return the names, in the file's order
   * @throws IOException if the content cannot be read
   */
  public static List<String> providerNames(InputStream services) throws IOException {
    List<String> names = new ArrayList<>();
    BufferedReader reader = new BufferedReader(new InputStreamReader(services, StandardCharsets.UTF_8));
    String line;
    while ((line = reader.readLine()) != null) {
      int comment = line.indexOf('#');
      String name = (comment >= 0 ? line.substring(0, comment) : line).strip();
      if (!name.isEmpty()) {
        names.add(name);
      }
    }
    return names;
  }

  private static List<Path> jarsOf(Path path) {
    if (Files.isDirectory(path)) {
      List<Path> jars = new ArrayList<>();
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(path, "*.jar")) {
        for (Path entry : entries) {
          if (!Files.isDirectory(entry)) {
            jars.add(entry);
          }
        }
      } catch (IOException | DirectoryIteratorException e) {
        throw new IllegalArgumentException("cannot read the directory " + path + ": " + e.getMessage(), e);
      }
      if (jars.isEmpty()) {
        throw new IllegalArgumentException(path + " is a directory without *.jar files; build the plugin first, or name its jar");
      }
      jars.sort(null);
      jars.forEach(PluginJars::checkJar);
      return jars;
    }
    checkJar(path);
    return List.of(path);
  }

  private static void checkJar(Path path) {
    if (!Files.exists(path)) {
      String where = path.isAbsolute() ? "" : " (looked for " + path.toAbsolutePath() + ")";
      throw new IllegalArgumentException(path + " does not exist" + where + "; give the path of a plugin jar, or of a directory of them");
    }
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException(path + " is neither a jar nor a directory; give the path of a plugin jar, or of a directory of them");
    }
    try {
      // Opening it reads its table of contents: enough to tell a jar (a zip file) from anything else.
      new JarFile(path.toFile()).close();
    } catch (IOException e) {
      throw new IllegalArgumentException(path + " is not a jar (" + e.getMessage() + "); give a plugin jar, as 'mvn package' builds it");
    }
  }

  private static Set<String> handlerClasses(Path path) {
    try (JarFile jar = new JarFile(path.toFile())) {
      JarEntry services = jar.getJarEntry(SERVICES);
      if (services == null) {
        return Set.of(); // a library for the plugins; it has no handlers of its own
      }
      try (InputStream in = jar.getInputStream(services)) {
        return new LinkedHashSet<>(providerNames(in));
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the plugin jar " + path + ": " + e.getMessage(), e);
    }
  }

  private static Path realPath(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException e) {
      return path.toAbsolutePath().normalize();
    }
  }
}
