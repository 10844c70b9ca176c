package dev.offload.worker;

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

  private static Map<String, String> originsByName(HandlerRegistry registry) {
    return registry.entries().stream()
        .collect(Collectors.toMap(e -> e.handler().name(), HandlerRegistry.Entry::origin));
  }
}
