package dev.offload.supervisor.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a database password from a file ({@code serve --store-password-file}): its first line,
 * without the line's end. The file must be private to its owner (mode 0600 or stricter), as
 * libpq asks of {@code ~/.pgpass}: a password anyone else can read is no secret. A file that root
 * owns may also be readable by its group, as systemd's credentials and Kubernetes' secret volumes
 * are ({@link PrivateFile}).
 */
public final class PasswordFile {

  private PasswordFile() {}

  /**
   * @throws IllegalArgumentException saying what is wrong with the file and how to fix it; it
   *     never holds the password
   */
  public static String read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("password file " + file + " does not exist; write the database password into it (one line)"
          + " and make it private: chmod 600 " + file);
    }
    try {
      PrivateFile.check(file, "password file");
      String password = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("");
      if (password.isEmpty()) {
        throw new IllegalArgumentException("password file " + file + " is empty; write the database password on its first line");
      }
      return password;
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read password file " + file + ": " + e.getMessage());
    }
  }
}
