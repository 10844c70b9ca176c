package dev.offload.supervisor.server;

import dev.offload.wire.UnixSockets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * A server's Unix socket, bound where no other user can reach it and only then published at its
 * path: so that it is never connectable by others, whatever the umask.
 *
 * <p>bind(2) creates the socket file with the mode the umask leaves (0777 under {@code umask 000},
 * and connecting needs only write permission), and nothing can chmod it before it exists. So the
 * server binds inside a staging directory that only its owner can enter (0700, made next to the
 * socket's path, {@code .NAME-PID.N}); the socket is then made 0600 there and hard-linked to its
 * path, and the staging directory removed. A link keeps the inode, so the listening server answers
 * at the new name, and unlike rename(2) it never replaces a file that is there: a service that
 * took the path meanwhile keeps it.
 *
 * <p>Use: {@link #create}, bind a server at {@link #bindPath}, {@link #publish}; {@link #close} in
 * every case, which removes whatever staging is left.
 */
final class StagedSocket implements AutoCloseable {

  private static final String SOCKET_NAME = "s";
  /**
   * Numbers the servers of this process: each stages in a directory of its own, so a server that
   * is still closing (Netty then deletes the file it bound) never touches the next one's.
   */
  private static final AtomicInteger SERVERS = new AtomicInteger();

  private final Path socket;
  private final Path staging;

  private StagedSocket(Path socket, Path staging) {
    this.socket = socket;
    this.staging = staging;
  }

  /**
   * Makes the private staging directory beside {@code socket}, first removing any that a dead
   * process left there.
   *
   * @throws IOException if the directory cannot be made, or the staged path would be longer than a
   *     Unix socket's path may be
   */
  static StagedSocket create(Path socket) throws IOException {
    Path staging = socket.resolveSibling("." + socket.getFileName() + "-" + ProcessHandle.current().pid() + "." + SERVERS.incrementAndGet());
    Path bindPath = staging.resolve(SOCKET_NAME);
    int over = bindPath.toString().getBytes(StandardCharsets.UTF_8).length - UnixSockets.MAX_PATH_BYTES;
    if (over > 0) {
      throw new IOException("the socket path " + socket + " is too long: it is bound first at " + bindPath
          + ", which is " + over + " bytes longer than the " + UnixSockets.MAX_PATH_BYTES + " a Unix socket's path may have;"
          + " choose a path at least " + over + " bytes shorter");
    }
    removeLeftovers(socket);
    // A directory of that name could only be left by an earlier process with this pid.
    deleteTree(staging);
    Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    // mkdir's mode is cut by the umask, never widened; set it outright so that a umask such as 077
    // or 777 cannot leave the owner unable to enter.
    Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwx------"));
    return new StagedSocket(socket, staging);
  }

  /** Where the server binds: inside the staging directory. */
  Path bindPath() {
    return staging.resolve(SOCKET_NAME);
  }

  /** The uid that owns the socket: the one user allowed to connect without a token. */
  int ownerUid() throws IOException {
    return (Integer) Files.getAttribute(staging, "unix:uid");
  }

  /**
   * Makes the bound socket 0600 and gives it its path, then removes the staging directory.
   *
   * @throws IOException if something is at the path already (another service took it), or the
   *     file system refuses
   */
  void publish() throws IOException {
    Files.setPosixFilePermissions(bindPath(), PosixFilePermissions.fromString("rw-------"));
    try {
      Files.createLink(socket, bindPath());
    } catch (FileAlreadyExistsException e) {
      throw new IOException("another offload service started serving on unix:" + socket
          + " meanwhile; stop it with 'offload shutdown' or choose another --listen", e);
    }
    close();
  }

  /** Removes the staging directory and the staged name of the socket, if they are still there. */
  @Override
  public void close() throws IOException {
    deleteTree(staging);
  }

  /** Staging directories of processes that are gone: a kill between bind and publish leaves one. */
  private static void removeLeftovers(Path socket) throws IOException {
    Pattern staged = Pattern.compile(Pattern.quote("." + socket.getFileName() + "-") + "(\\d{1,19})\\.\\d+");
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(socket.getParent())) {
      for (Path entry : entries) {
        var name = staged.matcher(entry.getFileName().toString());
        if (name.matches() && Files.isDirectory(entry) && ProcessHandle.of(Long.parseLong(name.group(1))).isEmpty()) {
          deleteTree(entry);
        }
      }
    }
  }

  /** A staging directory holds at most the socket file: no deeper tree to walk. */
  private static void deleteTree(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        Files.deleteIfExists(entry);
      }
    }
    Files.deleteIfExists(dir);
  }
}
