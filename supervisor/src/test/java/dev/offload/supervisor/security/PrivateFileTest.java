package dev.offload.supervisor.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may read a secret file: its owner; also its group when root owns it (what systemd's
 * LoadCredential= and a Kubernetes secret volume with fsGroup produce); never others.
 */
class PrivateFileTest {

  private static final int ROOT = 0;
  private static final int USER = 1000;

  @TempDir Path dir;

  @Test
  void refusal_ownerOnly_allowed() {
    assertNull(PrivateFile.refusal(PosixFilePermissions.fromString("rw-------"), USER));
    assertNull(PrivateFile.refusal(PosixFilePermissions.fromString("r--------"), ROOT));
  }

  @Test
  void refusal_groupReadOfAUsersFile_refused() {
    assertEquals("can be read by its group", PrivateFile.refusal(PosixFilePermissions.fromString("rw-r-----"), USER));
  }

  @Test
  void refusal_groupReadOfRootsFile_allowed() {
    assertNull(PrivateFile.refusal(PosixFilePermissions.fromString("r--r-----"), ROOT));
  }

  @Test
  void refusal_othersRead_refusedWhoeverOwnsIt() {
    assertEquals("can be read by others", PrivateFile.refusal(PosixFilePermissions.fromString("rw----r--"), USER));
    assertEquals("can be read by others", PrivateFile.refusal(PosixFilePermissions.fromString("r--r--r--"), ROOT));
  }

  @Test
  void refusal_writableOrExecutableByAnyoneElse_refusedWhoeverOwnsIt() {
    assertEquals("is open to others", PrivateFile.refusal(PosixFilePermissions.fromString("rw-----w-"), ROOT));
    assertEquals("is open to its group", PrivateFile.refusal(PosixFilePermissions.fromString("rw--w----"), ROOT));
    assertEquals("is open to its group", PrivateFile.refusal(PosixFilePermissions.fromString("rw-rw----"), ROOT));
  }

  @Test
  void check_realFileOthersCanRead_saysWhoAndHowToFixIt() throws Exception {
    Path file = Files.writeString(dir.resolve("secret"), "x");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PrivateFile.check(file, "token file"));

    assertTrue(e.getMessage().startsWith("token file " + file + " can be read by others (rw-r--r--)"), e.getMessage());
    assertTrue(e.getMessage().endsWith("chmod 600 " + file), e.getMessage());
  }

  @Test
  void check_realFileOfTheGroup_allowedOnlyWhenRootOwnsIt() throws Exception {
    Path file = Files.writeString(dir.resolve("secret"), "x");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r-----"));
    int owner = (Integer) Files.getAttribute(file, "unix:uid");

    if (owner == ROOT) {
      PrivateFile.check(file, "token file");
    } else {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PrivateFile.check(file, "token file"));
      assertTrue(e.getMessage().contains("can be read by its group"), e.getMessage());
    }
  }

  @Test
  void check_realFileOfAnotherUserReadableByItsGroup_refused() throws Exception {
    Path file = Files.writeString(dir.resolve("secret"), "x");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r-----"));
    assumeTrue((Integer) Files.getAttribute(file, "unix:uid") == ROOT, "only root can give a file to another user");
    Files.setAttribute(file, "unix:uid", 65534);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PrivateFile.check(file, "token file"));

    assertTrue(e.getMessage().contains("can be read by its group (r--r-----)"), e.getMessage());
  }
}
