package dev.offload.worker;

import dev.offload.wire.PluginJars;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginJarsTest {

  @TempDir Path dir;

  private Path jar(String name, String... services) throws Exception {
    return TestJars.servicesOnly(dir.resolve(name), List.of(services));
  }

  @Test
  void expand_jar_returnsIt() throws Exception {
    Path jar = jar("a.jar", "plugin.A");

    assertEquals(List.of(jar), PluginJars.expand(List.of(jar)));
  }

  @Test
  void expand_directory_returnsItsJarsByNameAndNothingElse() throws Exception {
    Path plugins = Files.createDirectory(dir.resolve("plugins"));
    Path b = TestJars.servicesOnly(plugins.resolve("b.jar"), List.of("plugin.B"));
    Path a = TestJars.servicesOnly(plugins.resolve("a.jar"), List.of("plugin.A"));
    Files.writeString(plugins.resolve("README.txt"), "not a jar");
    Path nested = Files.createDirectory(plugins.resolve("old.jar")); // a directory, whatever its name
    TestJars.servicesOnly(nested.resolve("c.jar"), List.of("plugin.C"));

    assertEquals(List.of(a, b), PluginJars.expand(List.of(plugins)));
  }

  @Test
  void expand_sameJarByItselfAndInItsDirectory_countsItOnce() throws Exception {
    Path jar = jar("a.jar", "plugin.A");

    assertEquals(List.of(jar), PluginJars.expand(List.of(jar, dir, jar)));
  }

  @Test
  void expand_missingPath_throwsNamingIt() {
    Path missing = dir.resolve("nope.jar");

    var e = assertThrows(IllegalArgumentException.class, () -> PluginJars.expand(List.of(missing)));

    assertTrue(e.getMessage().contains(missing + " does not exist"), e.getMessage());
  }

  @Test
  void expand_fileThatIsNotAJar_throwsNamingIt() throws Exception {
    Path text = Files.writeString(dir.resolve("handlers.jar"), "plain text");

    var e = assertThrows(IllegalArgumentException.class, () -> PluginJars.expand(List.of(text)));

    assertTrue(e.getMessage().contains(text + " is not a jar"), e.getMessage());
  }

  @Test
  void expand_directoryWithoutJars_throwsNamingIt() throws Exception {
    Files.writeString(dir.resolve("notes.txt"), "no jars here");

    var e = assertThrows(IllegalArgumentException.class, () -> PluginJars.expand(List.of(dir)));

    assertTrue(e.getMessage().contains(dir + " is a directory without *.jar files"), e.getMessage());
  }

  @Test
  void formatThenParse_givesTheJarsBack() throws Exception {
    List<Path> jars = List.of(jar("a.jar", "plugin.A"), jar("b.jar", "plugin.B"));

    String property = PluginJars.format(jars);

    assertEquals(jars.get(0) + File.pathSeparator + jars.get(1), property);
    assertEquals(jars, PluginJars.parse(property));
    assertEquals(List.of(), PluginJars.parse(null));
    assertEquals(List.of(), PluginJars.parse(" "));
  }

  @Test
  void classLoader_twoJarsListingOneClass_throwsNamingBothJars() throws Exception {
    Path a = jar("a.jar", "plugin.Same", "plugin.A");
    Path b = jar("b.jar", "# a copy of a.jar", "plugin.Same");

    var e = assertThrows(IllegalStateException.class, () -> PluginJars.classLoader(List.of(a, b), getClass().getClassLoader()));

    assertTrue(e.getMessage().contains("plugin.Same"), e.getMessage());
    assertTrue(e.getMessage().contains(a.toString()) && e.getMessage().contains(b.toString()), e.getMessage());
  }

  @Test
  void classLoader_jarWithoutServicesFile_isTakenAsALibrary() throws Exception {
    Path library = jar("library.jar");
    Path plugin = jar("plugin.jar", "plugin.A");

    try (URLClassLoader loader = assertDoesNotThrow(() -> PluginJars.classLoader(List.of(library, plugin), getClass().getClassLoader()))) {
      assertEquals(2, loader.getURLs().length);
    }
  }
}
