package dev.offload.testing;

import dev.offload.sdk.JobHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/**
 * Plugin jars of handlers that the test sources hold, for {@code serve --handlers}: the classes
 * as the build compiled them, and the services file that lists them. Each handler must be a
 * top-level class that needs no other class of the tests.
 */
public final class PluginJar {

  private PluginJar() {}

  /** Writes {@code jar} with these handlers and returns it. */
  @SafeVarargs
  public static Path write(Path jar, Class<? extends JobHandler>... handlers) throws IOException {
    StringBuilder services = new StringBuilder();
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      for (Class<? extends JobHandler> handler : handlers) {
        String entry = handler.getName().replace('.', '/') + ".class";
        try (InputStream bytes = handler.getClassLoader().getResourceAsStream(entry)) {
          if (bytes == null) {
            throw new IOException("the class file " + entry + " of " + handler + " is not on the test class path");
          }
          out.putNextEntry(new JarEntry(entry));
          bytes.transferTo(out);
        }
        services.append(handler.getName()).append('\n');
      }
      out.putNextEntry(new JarEntry("META-INF/services/" + JobHandler.class.getName()));
      out.write(services.toString().getBytes(StandardCharsets.UTF_8));
    }
    return jar;
  }
}
