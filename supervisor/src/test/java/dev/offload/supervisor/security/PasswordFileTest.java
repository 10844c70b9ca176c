package dev.offload.supervisor.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database password file: private to its owner, or root's and readable by its group only (what
 * systemd's LoadCredential= and a Kubernetes secret volume with fsGroup make); a refusal never
 * quotes the password.
 */
class PasswordFileTest {

  private static final String PASSWORD = "the-database-password";

  @TempDir Path dir;

  @Test
  void read_privateFile_givesTheFirstLine() throws Exception {
    Path file = write("rw-------");

    assertEquals(PASSWORD, PasswordFile.read(file));
  }

  @Test
  void read_fileOthersCanReadOrChange_refusedWithoutQuotingThePassword() throws Exception {
    for (String mode : new String[] {"rw----r--", "rw-----w-", "rw--w----"}) {
      Path file = write(mode);

      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PasswordFile.read(file), mode);

      assertTrue(e.getMessage().contains("chmod 600 " + file), e.getMessage());
      assertFalse(e.getMessage().contains(PASSWORD), e.getMessage());
    }
  }

  @Test
  void read_rootsFileReadableByItsGroup_accepted_anotherUsersRefused() throws Exception {
    Path file = write("r--r-----");
    assumeTrue((Integer) Files.getAttribute(file, "unix:uid") == 0, "only root can make a file of root's and give one to another user");

    assertEquals(PASSWORD, PasswordFile.read(file));

    Files.setAttribute(file, "unix:uid", 65534);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PasswordFile.read(file));
    assertTrue(e.getMessage().contains("can be read by its group"), e.getMessage());
  }

  private Path write(String mode) throws Exception {
    Path file = Files.writeString(dir.resolve("pgpassword-" + mode), PASSWORD + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
    return file;
  }
}
