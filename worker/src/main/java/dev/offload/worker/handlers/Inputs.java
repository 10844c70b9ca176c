package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;
import java.util.Optional;

/**
 * Reading the fields the built-in handlers share, with errors that say what was expected. Every
 * method throws {@link IllegalArgumentException} for input a handler cannot use; its message names
 * the handler or the file and says what is wrong.
 */
final class Inputs {

  private Inputs() {}

  /** The required {@code ms} field: a whole number of milliseconds, zero or more. */
  static long millis(JsonNode input, String handler) {
    JsonNode ms = input.isObject() ? input.get("ms") : null;
    if (ms == null || !ms.isIntegralNumber() || !ms.canConvertToLong() || ms.asLong() < 0) {
      throw new IllegalArgumentException(
          handler + " takes {\"ms\": N} with N a whole number of milliseconds >= 0, got " + input);
    }
    return ms.asLong();
  }

  /**
   * Parses the input, which must be a JSON object.
   *
   * @param usage the input's shape as the handler's description shows it, for the error
   */
  static JsonNode object(String inputJson, String handler, String usage) {
    JsonNode input = Json.parse(inputJson);
    if (!input.isObject()) {
      throw new IllegalArgumentException(handler + " takes " + usage + ", got " + input);
    }
    return input;
  }

  /**
   * A field that must be present: a non-empty path, made absolute against the working directory
   * and cleaned of {@code .} and {@code ..} lexically, as Python's {@code abspath} and Go's {@code
   * filepath.Abs} do.
   */
  static Path requiredPath(JsonNode input, String field, String handler) {
    return optionalPath(input, field, handler)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    handler + " needs \"" + field + "\": the path of a file, got " + input));
  }

  /** A path field that may be absent or null; made absolute as {@link #requiredPath} does. */
  static Optional<Path> optionalPath(JsonNode input, String field, String handler) {
    JsonNode node = present(input, field);
    if (node == null) {
      return Optional.empty();
    }
    if (!node.isTextual() || node.asText().isEmpty()) {
      throw new IllegalArgumentException(
          handler + "'s \"" + field + "\" must be a non-empty path, got " + node);
    }
    try {
      return Optional.of(Path.of(node.asText()).toAbsolutePath().normalize());
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(
          handler + "'s \"" + field + "\" is not a valid path: " + e.getMessage(), e);
    }
  }

  /** A text field that may be absent or null, in lower case. */
  static String optionalLowerCase(JsonNode input, String field, String fallback, String handler) {
    JsonNode node = present(input, field);
    if (node == null) {
      return fallback;
    }
    if (!node.isTextual()) {
      throw new IllegalArgumentException(handler + "'s \"" + field + "\" must be text, got " + node);
    }
    return node.asText().toLowerCase(Locale.ROOT);
  }

  /** A required whole-number field from {@code min} to {@code max}. */
  static int requiredInt(JsonNode input, String field, int min, int max, String handler) {
    if (present(input, field) == null) {
      throw new IllegalArgumentException(
          handler + " needs \"" + field + "\": a whole number from " + min + " to " + max
              + ", got " + input);
    }
    return optionalInt(input, field, min, min, max, handler);
  }

  /** A whole-number field from {@code min} to {@code max} that may be absent or null. */
  static int optionalInt(JsonNode input, String field, int fallback, int min, int max, String handler) {
    JsonNode node = present(input, field);
    if (node == null) {
      return fallback;
    }
    if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < min || node.asInt() > max) {
      throw new IllegalArgumentException(
          handler + "'s \"" + field + "\" must be a whole number from " + min + " to " + max
              + ", got " + node);
    }
    return node.asInt();
  }

  /** A true/false field that may be absent or null. */
  static boolean optionalBoolean(JsonNode input, String field, boolean fallback, String handler) {
    JsonNode node = present(input, field);
    if (node == null) {
      return fallback;
    }
    if (!node.isBoolean()) {
      throw new IllegalArgumentException(
          handler + "'s \"" + field + "\" must be true or false, got " + node);
    }
    return node.asBoolean();
  }

  /**
   * Checks that a path is a regular file this process can read, following symbolic links.
   *
   * @return its attributes, for its size
   * @throws IllegalArgumentException "no such file: PATH", "PATH is a directory, not a file", and
   *     so on
   */
  static BasicFileAttributes readableFile(Path path) {
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(path, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("no such file: " + path, e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + path + ": " + reason(e), e);
    }
    if (attributes.isDirectory()) {
      throw new IllegalArgumentException(path + " is a directory, not a file");
    }
    if (!attributes.isRegularFile()) {
      // A pipe or a device could block forever or never end.
      throw new IllegalArgumentException(path + " is not a regular file");
    }
    if (!Files.isReadable(path)) {
      throw new IllegalArgumentException("cannot read " + path + ": permission denied");
    }
    return attributes;
  }

  /**
   * Checks that a handler may write its output at a path: not a directory, not the input file
   * itself, and not an existing file unless {@code overwrite}.
   */
  static void writableOutput(Path output, Path input, boolean overwrite, String handler) {
    if (Files.isDirectory(output)) {
      throw new IllegalArgumentException(output + " is a directory; \"output\" must name a file");
    }
    if (!Files.exists(output, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      if (Files.isSameFile(output, input)) {
        throw new IllegalArgumentException(
            handler + " cannot write its output over its input file " + input);
      }
    } catch (IOException e) {
      // A dangling link or the like: not the input, so the overwrite rule decides.
    }
    if (!overwrite) {
      throw new IllegalArgumentException(
          "output file exists: " + output + "; pass \"overwrite\": true to replace it");
    }
  }

  /** What went wrong with a file, in a few words: the exception's reason without its path. */
  static String reason(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
      return fs.getReason();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /** The field, or null if it is absent or JSON null. */
  private static JsonNode present(JsonNode input, String field) {
    JsonNode node = input.get(field);
    return node == null || node.isNull() ? null : node;
  }
}
