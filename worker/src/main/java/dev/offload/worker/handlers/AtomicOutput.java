package dev.offload.worker.handlers;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An output file that appears whole or not at all. Bytes go to a hidden temporary file beside the
 * target; {@link #commit} flushes it to disk and moves it into place, and {@link #close} deletes it
 * if it was never committed, so a failed or cancelled job leaves nothing behind. (A worker killed
 * outright cannot clean up: its temporary file, named {@code .NAME.HEX.tmp}, stays.)
 *
 * <p>Not thread-safe: one job writes one output.
 */
final class AtomicOutput implements AutoCloseable {

  private final Path target;
  private final Path temp;
  private final boolean overwrite;
  private boolean committed;

  private AtomicOutput(Path target, Path temp, boolean overwrite) {
    this.target = target;
    this.temp = temp;
    this.overwrite = overwrite;
  }

  /**
   * Creates the temporary file beside {@code target}, with the permissions a new file gets.
   *
   * @param overwrite whether {@link #commit} may replace a file that exists at {@code target}
   * @throws IllegalArgumentException if the target's directory is missing or not writable
   */
  static AtomicOutput create(Path target, boolean overwrite) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    while (true) {
      String suffix = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
      Path temp = dir.resolve("." + target.getFileName() + "." + suffix + ".tmp");
      try {
        Files.createFile(temp);
        return new AtomicOutput(target, temp, overwrite);
      } catch (FileAlreadyExistsException e) {
        // another random name
      } catch (NoSuchFileException e) {
        throw new IllegalArgumentException("cannot write " + target + ": no such directory: " + dir, e);
      } catch (AccessDeniedException e) {
        throw new IllegalArgumentException(
            "cannot write " + target + ": permission denied in " + dir, e);
      }
    }
  }

  /** A new stream to the temporary file; close it before {@link #commit}. */
  OutputStream stream() throws IOException {
    return Files.newOutputStream(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
  }

  /** The target's final path. */
  Path target() {
    return target;
  }

  /**
   * Makes the written bytes durable and moves them to the target in one step.
   *
   * @throws IllegalArgumentException if the target now exists and overwriting was not allowed
   */
  void commit() throws IOException {
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      // Without this, a crash soon after the rename can leave an empty file under the final name.
      channel.force(true);
    }
    if (overwrite) {
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } else {
      moveUnlessExists();
    }
    committed = true;
  }

  /**
   * Moves without replacing. A rename replaces whatever is there, so a file that appeared since the
   * job's check would be lost; a hard link fails instead, atomically.
   */
  private void moveUnlessExists() throws IOException {
    try {
      Files.createLink(target, temp);
      Files.delete(temp);
      return;
    } catch (FileAlreadyExistsException e) {
      throw new IllegalArgumentException(
          "output file exists: " + target + "; pass \"overwrite\": true to replace it", e);
    } catch (UnsupportedOperationException | FileSystemException e) {
      // No hard links on this file system: check, then move (a narrow race remains).
    }
    try {
      Files.move(temp, target);
    } catch (FileAlreadyExistsException e) {
      throw new IllegalArgumentException(
          "output file exists: " + target + "; pass \"overwrite\": true to replace it", e);
    }
  }

  /** Deletes the temporary file unless it was committed. */
  @Override
  public void close() throws IOException {
    if (!committed) {
      Files.deleteIfExists(temp);
    }
  }
}
