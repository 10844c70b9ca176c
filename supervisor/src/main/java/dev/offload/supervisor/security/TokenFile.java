package dev.offload.supervisor.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a token from a file: its first line, trimmed. A token is a password: the file must hold
 * one of at least {@value #MIN_CHARS} characters, and the service refuses a file that others can
 * read ({@link PrivateFile}).
 */
public final class TokenFile {

  /** 128 bits written in base64: a token shorter than that could be guessed. */
  public static final int MIN_CHARS = 22;

  private TokenFile() {}

  /** A command line that writes a good token into {@code file}, for error messages and the README. */
  static String howToMake(Path file) {
    return "openssl rand -base64 24 > " + file + " && chmod 600 " + file;
  }

  /**
   * @param privateOnly whether to refuse a file that others can read, as {@link PrivateFile} says (the service does)
   * @throws IllegalArgumentException saying what is wrong with the file and how to fix it
   */
  public static String read(Path file, boolean privateOnly) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("token file " + file + " does not exist; write a long random token into it, for example: "
          + howToMake(file));
    }
    try {
      if (privateOnly) {
        PrivateFile.check(file, "token file");
      }
      String token = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
      if (token.isEmpty()) {
        throw new IllegalArgumentException("token file " + file + " is empty; write a long random token into it: " + howToMake(file));
      }
      if (token.length() < MIN_CHARS) {
        throw new IllegalArgumentException("the token in " + file + " is " + token.length() + " characters long; a token needs at least "
            + MIN_CHARS + " (128 bits in base64) so that it cannot be guessed. Make one: " + howToMake(file));
      }
      return token;
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read token file " + file + ": " + e.getMessage());
    }
  }
}
