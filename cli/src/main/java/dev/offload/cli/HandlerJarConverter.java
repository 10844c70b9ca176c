package dev.offload.cli;

import dev.offload.wire.PluginJars;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A {@code --handlers} path, checked as it is read: a plugin jar, or a directory with {@code *.jar}
 * files in it. A wrong path is thus a usage error (exit 2) that names it, before any worker starts.
 */
final class HandlerJarConverter implements ITypeConverter<Path> {

  @Override
  public Path convert(String value) {
    try {
      Path path = Path.of(value);
      PluginJars.expand(List.of(path));
      return path;
    } catch (IllegalArgumentException e) { // InvalidPathException too
      throw new TypeConversionException(e.getMessage());
    }
  }
}
