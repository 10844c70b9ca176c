package dev.offload.worker;

import dev.offload.sdk.JobHandler;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Builds a {@link HandlerRegistry} that sees the built-ins plus test handlers. The test handlers
 * are listed in a services file written to a directory of the test's own (a {@code @TempDir}),
 * exposed by a class loader whose parent is the test class loader: the classes come from the
 * parent, the extra services file only from that directory, so no other test ever sees it.
 */
final class TestRegistry {

  private TestRegistry() {}

  static HandlerRegistry load(Path dir, boolean includeTestHandlers, Class<?>... handlers)
      throws IOException {
    return loadNamed(
        dir, includeTestHandlers, Arrays.stream(handlers).map(Class::getName).toList());
  }

  /** Like {@link #load}, with the services file's lines given as they are. */
  static HandlerRegistry loadNamed(Path dir, boolean includeTestHandlers, List<String> lines)
      throws IOException {
    Path services = dir.resolve("META-INF/services/" + JobHandler.class.getName());
    Files.createDirectories(services.getParent());
    Files.write(services, lines);
    try (URLClassLoader loader =
        new URLClassLoader(new URL[] {dir.toUri().toURL()}, TestRegistry.class.getClassLoader())) {
      // load() instantiates every handler before it returns, so the loader may close now.
      return HandlerRegistry.load(loader, includeTestHandlers);
    }
  }
}
