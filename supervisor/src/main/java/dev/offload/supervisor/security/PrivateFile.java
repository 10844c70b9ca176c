package dev.offload.supervisor.security;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The check a secret file (a token, a password) must pass before a service reads it: no one but
 * its owner may read, write or execute it, with one exception, PostgreSQL's rule for its key
 * files: a file that root owns may also be readable by its group (never writable, and never open
 * to others).
 *
 * <p>The exception is what the usual ways of handing a secret to a service produce, none of which
 * can make the file belong to the service's user with mode 0600:
 * <ul>
 *   <li>systemd's {@code LoadCredential=} writes a root-owned file of mode 0400 and grants the
 *       service's user read access by an ACL entry, which {@code stat} shows as group read
 *       ({@code -r--r-----+});
 *   <li>a Kubernetes secret volume with {@code fsGroup} set belongs to root and the pod's group,
 *       and the kubelet adds group read to whatever {@code defaultMode} says;
 *   <li>a key in a group such as Debian's {@code ssl-cert}.
 * </ul>
 * In each, root made the file and chose who reads it; a file a user made for themselves with the
 * group bit set is still refused.
 */
public final class PrivateFile {

  private PrivateFile() {}

  /**
   * Refuses {@code file} if anyone but its owner may read or change it (see the class comment).
   *
   * @param what what the file is, for the message ("token file")
   * @throws IllegalArgumentException saying who can read the file and how to make it private
   * @throws IOException if its permissions or its owner cannot be read
   */
  public static void check(Path file, String what) throws IOException {
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
    String refusal = refusal(perms, ownerUid(file));
    if (refusal != null) {
      throw new IllegalArgumentException(what + " " + file + " " + refusal + " (" + PosixFilePermissions.toString(perms)
          + "); make it private: chmod 600 " + file);
    }
  }

  /**
   * What is wrong with a secret file of these permissions and this owner ("can be read by
   * others"), or null if nothing is. Pure, for the tests.
   */
  static String refusal(Set<PosixFilePermission> perms, int ownerUid) {
    if (perms.contains(PosixFilePermission.OTHERS_READ)) {
      return "can be read by others";
    }
    if (perms.contains(PosixFilePermission.OTHERS_WRITE) || perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
      return "is open to others";
    }
    if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.GROUP_EXECUTE)) {
      return "is open to its group";
    }
    if (perms.contains(PosixFilePermission.GROUP_READ) && ownerUid != 0) {
      return "can be read by its group";
    }
    return null;
  }

  /** The owner's uid; -1 (not root) where the file system does not tell it. */
  private static int ownerUid(Path file) throws IOException {
    try {
      return (Integer) Files.getAttribute(file, "unix:uid");
    } catch (UnsupportedOperationException e) {
      return -1;
    }
  }
}
