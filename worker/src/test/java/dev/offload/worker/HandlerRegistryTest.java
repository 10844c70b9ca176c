package dev.offload.worker;

import dev.offload.wire.PluginJars;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.HandlerInfo;
import dev.offload.worker.TestHandlers.BrokenHandler;
import dev.offload.worker.TestHandlers.NotJsonHandler;
import dev.offload.worker.TestHandlers.ShadowEchoHandler;
import dev.offload.worker.TestHandlers.TestOnlyEchoHandler;
import dev.offload.worker.TestHandlers.TwinAHandler;
import dev.offload.worker.TestHandlers.TwinBHandler;
import dev.offload.worker.handlers.EchoHandler;
import dev.offload.worker.handlers.IsPrimeHandler;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HandlerRegistryTest {

  private static final ClassLoader MODULE_LOADER = HandlerRegistry.class.getClassLoader();

  @TempDir Path dir;

  @Test
  void load_moduleClassLoaderWithoutTestHandlers_offersBuiltInsButNotCrash() {
    HandlerRegistry registry = HandlerRegistry.load(MODULE_LOADER, false);

    assertEquals(
        Map.of(
            "compress", "built-in",
            "echo", "built-in",
            "hash", "built-in",
            "is_prime", "built-in",
            "sleep", "built-in",
            "spin", "built-in",
            "thumbnail", "built-in"),
        originsByName(registry));
    assertTrue(registry.find("crash").isEmpty());
  }

  @Test
  void load_moduleClassLoaderWithTestHandlers_offersCrashToo() {
    HandlerRegistry registry = HandlerRegistry.load(MODULE_LOADER, true);

    assertEquals(
        Map.of(
            "compress", "built-in",
            "crash", "built-in",
            "echo", "built-in",
            "hash", "built-in",
            "is_prime", "built-in",
            "sleep", "built-in",
            "spin", "built-in",
            "thumbnail", "built-in"),
        originsByName(registry));
  }

  @Test
  void find_knownName_returnsThatHandler() {
    HandlerRegistry registry = HandlerRegistry.load(MODULE_LOADER, false);

    assertInstanceOf(EchoHandler.class, registry.find("echo").orElseThrow());
    assertInstanceOf(IsPrimeHandler.class, registry.find("is_prime").orElseThrow());
  }

  @Test
  void find_unknownName_returnsEmpty() {
    HandlerRegistry registry = HandlerRegistry.load(MODULE_LOADER, true);

    assertTrue(registry.find("no_such_handler").isEmpty());
    assertTrue(registry.find("ECHO").isEmpty());
  }

  @Test
  void describe_builtIns_listsEveryHandlerByNameWithDescriptionAndOrigin() {
    HandlerRegistry registry = HandlerRegistry.load(MODULE_LOADER, true);

    List<HandlerInfo> infos = StreamSupport.stream(registry.describe().spliterator(), false).toList();

    assertEquals(
        List.of("compress", "crash", "echo", "hash", "is_prime", "sleep", "spin", "thumbnail"),
        infos.stream().map(HandlerInfo::getName).toList());
    for (HandlerInfo info : infos) {
      assertEquals("built-in", info.getOrigin(), info.getName());
      assertEquals(
          registry.find(info.getName()).orElseThrow().description(),
          info.getDescription(),
          info.getName());
      assertTrue(!info.getDescription().isBlank(), info.getName());
    }
  }

  @Test
  void load_handlerFromAnotherLocation_reportsThatLocationAsOrigin() throws Exception {
    HandlerRegistry registry = TestRegistry.load(dir, false, NotJsonHandler.class);

    String testClasses =
        Path.of(NotJsonHandler.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .toString();
    assertEquals(testClasses, originsByName(registry).get("not_json"));
    assertEquals("built-in", originsByName(registry).get("echo"));
  }

  @Test
  void load_handlerNamedLikeBuiltIn_throwsNamingBothClasses() {
    var e =
        assertThrows(
            IllegalStateException.class, () -> TestRegistry.load(dir, false, ShadowEchoHandler.class));

    assertTrue(e.getMessage().contains("'echo'"), e.getMessage());
    assertTrue(e.getMessage().contains(EchoHandler.class.getName()), e.getMessage());
    assertTrue(e.getMessage().contains(ShadowEchoHandler.class.getName()), e.getMessage());
  }

  @Test
  void load_twoHandlersWithOneName_throwsNamingBothClasses() {
    var e =
        assertThrows(
            IllegalStateException.class,
            () -> TestRegistry.load(dir, false, TwinAHandler.class, TwinBHandler.class));

    assertTrue(e.getMessage().contains("'twin'"), e.getMessage());
    assertTrue(e.getMessage().contains(TwinAHandler.class.getName()), e.getMessage());
    assertTrue(e.getMessage().contains(TwinBHandler.class.getName()), e.getMessage());
  }

  @Test
  void load_testOnlyDuplicateWithoutTestHandlers_skipsItWithoutClash() throws Exception {
    HandlerRegistry registry = TestRegistry.load(dir, false, TestOnlyEchoHandler.class);

    assertInstanceOf(EchoHandler.class, registry.find("echo").orElseThrow());
  }

  @Test
  void load_testOnlyDuplicateWithTestHandlers_throwsNamingBothClasses() {
    var e =
        assertThrows(
            IllegalStateException.class, () -> TestRegistry.load(dir, true, TestOnlyEchoHandler.class));

    assertTrue(e.getMessage().contains(EchoHandler.class.getName()), e.getMessage());
    assertTrue(e.getMessage().contains(TestOnlyEchoHandler.class.getName()), e.getMessage());
  }

  @Test
  void load_handlerConstructorThrows_throwsIllegalStateException() {
    var e =
        assertThrows(
            IllegalStateException.class, () -> TestRegistry.load(dir, false, BrokenHandler.class));

    assertTrue(e.getMessage().contains(BrokenHandler.class.getName()), e.getMessage());
    assertInstanceOf(ServiceConfigurationError.class, e.getCause());
  }

  @Test
  void load_servicesFileNamesMissingClass_throwsIllegalStateException() {
    var e =
        assertThrows(
            IllegalStateException.class,
            () -> TestRegistry.loadNamed(dir, false, List.of("dev.offload.worker.NoSuchHandler")));

    assertTrue(e.getMessage().contains("dev.offload.worker.NoSuchHandler"), e.getMessage());
  }

  @Test
  void load_pluginJar_offersItsHandlerWithTheJarAsOrigin() throws Exception {
    Path jar = TestJars.jar(dir.resolve("echo2.jar"),
        Map.of("plugin.Echo2", TestJars.echoHandler("Echo2", "echo2")), List.of("plugin.Echo2"));

    HandlerRegistry registry = loadPlugins(jar);

    assertEquals(jar.toString(), originsByName(registry).get("echo2"));
    assertEquals("built-in", originsByName(registry).get("echo"));
    assertEquals("[1]", registry.find("echo2").orElseThrow().run("[1]", null));
  }

  @Test
  void load_twoJarsWithOneHandlerName_throwsNamingBothJars() throws Exception {
    Path first = TestJars.jar(dir.resolve("first.jar"),
        Map.of("plugin.First", TestJars.echoHandler("First", "twin")), List.of("plugin.First"));
    Path second = TestJars.jar(dir.resolve("second.jar"),
        Map.of("plugin.Second", TestJars.echoHandler("Second", "twin")), List.of("plugin.Second"));

    var e = assertThrows(IllegalStateException.class, () -> loadPlugins(first, second));

    assertTrue(e.getMessage().contains("two handlers are named 'twin'"), e.getMessage());
    assertTrue(e.getMessage().contains("plugin.First from " + first), e.getMessage());
    assertTrue(e.getMessage().contains("plugin.Second from " + second), e.getMessage());
  }

  @Test
  void load_jarListingAMissingClass_throwsNamingTheClassAndTheJar() throws Exception {
    Path jar = TestJars.servicesOnly(dir.resolve("typo.jar"), List.of("plugin.Mispeled"));

    var e = assertThrows(IllegalStateException.class, () -> loadPlugins(jar));

    assertTrue(e.getMessage().contains("plugin.Mispeled not found"), e.getMessage());
    assertTrue(e.getMessage().endsWith("; it is listed in " + jar), e.getMessage());
  }

  @Test
  void load_pluginWhoseConstructorThrows_throwsNamingTheJarAndTheCause() throws Exception {
    String source = """
        package plugin;
        public final class Fussy implements dev.offload.sdk.JobHandler {
          public Fussy() { throw new IllegalStateException("no config file"); }
          public String name() { return "fussy"; }
          public String description() { return "Test plugin"; }
          public String run(String input, dev.offload.sdk.JobContext context) { return input; }
        }
        """;
    Path jar = TestJars.jar(dir.resolve("fussy.jar"), Map.of("plugin.Fussy", source), List.of("plugin.Fussy"));

    var e = assertThrows(IllegalStateException.class, () -> loadPlugins(jar));

    assertEquals("handler plugin.Fussy from " + jar + " could not be created: IllegalStateException: no config file", e.getMessage());
  }

  @Test
  void load_pluginMissingALibraryClass_throwsNamingTheJarAndTheClassWithAHint() throws Exception {
    String handler = """
        package plugin;
        public final class Needy implements dev.offload.sdk.JobHandler {
          private final Object helper = new plugin.lib.Helper();
          public String name() { return "needy"; }
          public String description() { return "Test plugin"; }
          public String run(String input, dev.offload.sdk.JobContext context) { return input; }
        }
        """;
    Path jar = TestJars.jar(dir.resolve("needy.jar"),
        Map.of("plugin.Needy", handler, "plugin.lib.Helper", "package plugin.lib; public class Helper {}"),
        List.of("plugin.Needy"), "plugin.lib.Helper");

    var e = assertThrows(IllegalStateException.class, () -> loadPlugins(jar));

    assertTrue(e.getMessage().contains("plugin.Needy"), e.getMessage());
    assertTrue(e.getMessage().contains(jar.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("it needs the class plugin.lib.Helper, which is missing"), e.getMessage());
  }

  /** Loads the built-ins and the handlers of plugin jars, as a worker given those jars does. */
  private static HandlerRegistry loadPlugins(Path... jars) throws Exception {
    // load() creates every handler before it returns, so the loader may close then.
    try (var loader = PluginJars.classLoader(List.of(jars), MODULE_LOADER)) {
      return HandlerRegistry.load(loader, false);
    }
  }

  private static Map<String, String> originsByName(HandlerRegistry registry) {
    return registry.entries().stream()
        .collect(Collectors.toMap(e -> e.handler().name(), HandlerRegistry.Entry::origin));
  }
}
