package dev.offload.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The directory where a service keeps what outlives it: its job store ({@code jobs.db}), its own
 * log and its workers' logs. State, not cache: a cache may be deleted at any time, and the job
 * store must not be. Only its owner may write there (it holds jobs' inputs and outputs and what
 * jobs printed), so one that others can write to is refused.
 */
final class StateDir {

  private StateDir() {}

  /** {@code $XDG_STATE_HOME/offload}, else {@code ~/.local/state/offload} (the user's state directory). */
  static Path defaultPath() {
    String xdg = System.getenv("XDG_STATE_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "state");
    return base.resolve("offload");
  }

  /**
   * Makes the directory (0700) if it is not there, and checks it.
   *
   * @throws CliException (exit 2, a usage error: another directory will do) saying what is wrong
   *     and what to do
   */
  static Path prepare(Path dir) {
    Path absolute = dir.toAbsolutePath();
    try {
      if (!Files.isDirectory(absolute)) {
        Files.createDirectories(absolute, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      }
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(absolute);
      if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
        throw new CliException(ExitCodes.USAGE, "the state directory " + absolute + " can be written by others ("
            + PosixFilePermissions.toString(perms) + "); make it private (chmod 700 " + absolute + ") or choose another with --state-dir");
      }
      if (!Files.isWritable(absolute)) {
        throw new CliException(ExitCodes.USAGE, "cannot write to the state directory " + absolute + "; choose another with --state-dir");
      }
      return absolute;
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot make the state directory " + absolute + ": " + e.getMessage()
          + "; choose another with --state-dir");
    }
  }
}
