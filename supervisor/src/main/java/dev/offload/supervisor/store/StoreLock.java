package dev.offload.supervisor.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Holds a store for one service: an exclusive lock on a file beside it ({@code jobs.db.lock}),
 * with the holder's pid written in it, so that a second service on the same store is refused at
 * once and told who holds it. The operating system drops the lock when its process dies, however
 * it dies, so a crash never leaves a store locked; the file itself stays.
 */
final class StoreLock implements AutoCloseable {

  private final FileChannel channel;
  private final FileLock lock;

  private StoreLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of the store at {@code store}, or refuses.
   *
   * @throws StoreException if another process (or this one) holds it, naming its pid, or if the
   *     lock file cannot be made
   */
  static StoreLock take(Path store) {
    Path file = store.resolveSibling(store.getFileName() + ".lock");
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new StoreException("cannot make the job store's lock file " + file + ": " + e + "; check its directory's"
          + " permissions and space, or give serve another --store");
    }
    try {
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // this very process holds it already
      }
      if (lock == null) {
        String holder = holder(file);
        channel.close();
        throw new StoreException("the job store " + store + " is in use by another offload serve (" + holder + "); stop that"
            + " service first ('offload shutdown --server ...'), or give this one another --store");
      }
      byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(pid), 0);
      channel.force(false);
      return new StoreLock(channel, lock);
    } catch (IOException e) {
      try {
        channel.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new StoreException("cannot lock the job store " + store + " (" + file + "): " + e, e);
    }
  }

  /** Who holds the lock, as its file says: "pid N", or why that is not known. */
  private static String holder(Path file) {
    try {
      String pid = Files.readString(file, StandardCharsets.US_ASCII).trim();
      if (pid.isEmpty()) {
        return "a process that has not written its pid yet in " + file;
      }
      return "pid " + pid + (pid.equals(Long.toString(ProcessHandle.current().pid())) ? ", this very process" : "");
    } catch (IOException e) {
      return "its pid is unknown: " + file + " cannot be read: " + e.getMessage();
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      // The process's end releases it in any case.
    }
  }
}
