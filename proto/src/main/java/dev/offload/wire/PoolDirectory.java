package dev.offload.wire;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The private (0700) directory of one pool: its workers' sockets, and a private pool's worker logs.
 * It is named after the supervisor process that owns it, {@code offload-pool-PID-START-RANDOM},
 * START being when that process started (in clock ticks since boot, base 36), so that a pid that
 * the system has given to another process since is not taken for the owner.
 *
 * <p>A supervisor removes a worker's socket when the worker ends, and its directory when it
 * closes. When it dies without closing (SIGKILL, a crash), two things make sure the directory does
 * not stay behind: the last of its workers to exit removes it, with whatever sockets of killed
 * siblings and logs are left in it ({@link #removeIfAbandoned}); and if no worker was left to do
 * so, the next pool to start removes the directories beside its own whose owner is gone ({@link
 * #create}).
 */
public final class PoolDirectory {

  private static final String PREFIX = "offload-pool-";
  private static final Duration SIBLING_POLL = Duration.ofMillis(20);
  private static final Pattern NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-([0-9a-z]+)-[0-9a-z]+");

  private PoolDirectory() {}

  /**
   * Makes a new pool directory in {@code parent} for this process, after removing those in it
   * that belong to supervisors that are gone (a failure to remove one is no reason not to start;
   * it is only reported in the result).
   *
   * @param parent the directory to make it in, the temporary directory as a rule
   * @return the new directory and what was found stale
   * @throws IOException if the directory cannot be made
   */
  public static Created create(Path parent) throws IOException {
    long pid = ProcessHandle.current().pid();
    Optional<String> started = startToken(pid);
    String owner = PREFIX + pid + "-" + started.orElse("0") + "-";
    Path dir;
    while (true) {
      try {
        dir = Files.createDirectory(parent.resolve(owner + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36)),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        break;
      } catch (FileAlreadyExistsException taken) {
        // Another pool of this process drew the same name; draw again.
      }
    }
    List<Path> removed = new ArrayList<>();
    List<String> notRemoved = new ArrayList<>();
    if (started.isPresent()) { // without /proc no owner can be told alive, so none is judged gone
      removeStale(parent, Files.getAttribute(dir, "unix:uid"), removed, notRemoved);
    }
    return new Created(dir, List.copyOf(removed), List.copyOf(notRemoved));
  }

  /**
   * A directory made by {@link #create}, and the stale ones of earlier supervisors found beside it.
   *
   * @param dir the new directory
   * @param removed those removed
   * @param notRemoved those that could not be, each with the reason
   */
  public record Created(Path dir, List<Path> removed, List<String> notRemoved) {}

  /**
   * Removes the pool directories in {@code parent} of the user {@code uid} whose owner process is
   * gone and where no socket answers.
   */
  private static void removeStale(Path parent, Object uid, List<Path> removed, List<String> notRemoved) {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, PREFIX + "*")) {
      for (Path dir : entries) {
        try {
          if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
              && uid.equals(Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS))
              && isOwnerGone(dir)
              // An owner in another pid namespace (a container sharing /tmp) looks gone from here,
              // but its workers' sockets still answer.
              && !anySocketAnswers(dir)) {
            removeWithFiles(dir);
            removed.add(dir);
          }
        } catch (IOException e) {
          if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) { // else removed by another meanwhile: fine
            notRemoved.add(dir + ": " + e);
          }
        }
      }
    } catch (IOException e) {
      notRemoved.add(parent + ": " + e);
    }
  }

  /**
   * Whether a pool directory's owner has ended: no process has its pid now, or the one that has
   * started at another time (the pid was reused), or it is a zombie. False for a directory of
   * another name: only pool directories are ever judged stale.
   *
   * @param dir a directory that may be a pool's
   * @return whether it is a pool's whose owner has ended
   */
  public static boolean isOwnerGone(Path dir) {
    Matcher name = NAME.matcher(dir.getFileName().toString());
    if (!name.matches()) {
      return false;
    }
    long pid;
    try {
      pid = Long.parseLong(name.group(1));
    } catch (NumberFormatException e) {
      return false;
    }
    Optional<String> started = startToken(pid);
    return started.isEmpty() || !started.get().equals(name.group(2));
  }

  /**
   * For a worker exiting because its supervisor seems gone, after it has removed its own socket:
   * removes the pool directory, with the stale sockets of killed siblings and any logs in it, once
   * its owner is seen gone and no other worker serves there. Its siblings are exiting too, as they
   * watch the same supervisor, and each removes its own socket before it looks, so the last to
   * look finds none serving. A supervisor or a sibling killed at that moment may take a few
   * milliseconds to be gone, hence the wait, at most {@code patience}, before leaving the
   * directory to the others (or to the next pool that starts); a supervisor that is alive after
   * all keeps its directory. Only a directory named as a pool's is emptied; another is removed
   * only if it is empty. Never throws: exiting matters more.
   *
   * @param dir the worker's pool directory
   * @param patience the most to wait for the owner and the siblings to be gone
   */
  public static void removeIfAbandoned(Path dir, Duration patience) {
    try {
      if (!NAME.matcher(dir.getFileName().toString()).matches()) {
        Files.deleteIfExists(dir);
        return;
      }
      long deadline = System.nanoTime() + patience.toNanos();
      while (!isOwnerGone(dir) || anySocketAnswers(dir)) {
        if (System.nanoTime() - deadline > 0) {
          return;
        }
        Thread.sleep(SIBLING_POLL.toMillis());
      }
      removeWithFiles(dir);
    } catch (IOException | RuntimeException e) {
      // Gone already, or not ours to fix now: a later pool's start removes what is left.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static boolean anySocketAnswers(Path dir) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*.sock")) {
      for (Path socket : entries) {
        if (answers(socket)) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether something listens on a Unix socket file; without blocking, as a worker exits on it. */
  private static boolean answers(Path socket) {
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      channel.configureBlocking(false);
      channel.connect(UnixDomainSocketAddress.of(socket));
      return true; // connected, or accepted for later: someone listens
    } catch (IOException e) {
      return false; // refused: a socket file left by a process that is gone
    }
  }

  /** Removes the files in a directory (no subdirectory: a pool directory has none) and then it. */
  private static void removeWithFiles(Path dir) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (!Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          Files.deleteIfExists(entry);
        }
      }
    }
    Files.deleteIfExists(dir);
  }

  /**
   * When a process started, in clock ticks since boot, base 36 (field 22 of {@code
   * /proc/PID/stat}, which unlike a wall-clock time never shifts); empty if no such process runs
   * (or it is a zombie, already ended).
   */
  static Optional<String> startToken(long pid) {
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    } catch (IOException e) {
      return Optional.empty();
    }
    // "PID (COMMAND) STATE PPID ...": the command may hold spaces and parentheses; fields follow
    // its last ')', the state first and the start time 20th.
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    if (fields.length < 20 || fields[0].equals("Z") || fields[0].equals("X")) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.toString(Long.parseLong(fields[19]), 36));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
