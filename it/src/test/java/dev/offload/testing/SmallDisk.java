package dev.offload.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A small filesystem of its own, mounted on a test's directory, that a test can fill to the last
 * byte and free again: a tmpfs where the test may mount one (root, or a user namespace that
 * allows it), else an ext4 image through a loop device. Where neither can be mounted, {@link
 * #mount} aborts the test (a JUnit assumption) with a message saying why. Closing it unmounts it
 * (lazily, as a last resort, if something still holds it open) and deletes the image.
 */
public final class SmallDisk implements AutoCloseable {

  private static final long COMMAND_SECONDS = 30;

  private final Path mountPoint;
  private final Path image;
  private final String kind;

  private SmallDisk(Path mountPoint, Path image, String kind) {
    this.mountPoint = mountPoint;
    this.image = image;
    this.kind = kind;
  }

  /**
   * Mounts a filesystem of {@code mebibytes} MiB on {@code dir/disk}, made for it.
   *
   * @param dir a directory of the test's own (its image, if any, goes there too)
   */
  public static SmallDisk mount(Path dir, int mebibytes) throws IOException, InterruptedException {
    Path mountPoint = Files.createDirectories(dir.resolve("disk"));
    List<String> why = new ArrayList<>();
    String tmpfs = run("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m,mode=0700", "tmpfs", mountPoint.toString());
    if (tmpfs == null) {
      return new SmallDisk(mountPoint, null, "tmpfs");
    }
    why.add("mount -t tmpfs: " + tmpfs);
    Path image = dir.resolve("disk.img");
    try (var file = new java.io.RandomAccessFile(image.toFile(), "rw")) {
      file.setLength(mebibytes * 1024L * 1024L);
    }
    String mkfs = run("mkfs.ext4", "-q", "-F", "-m", "0", image.toString());
    String loop = mkfs != null ? null : run("mount", "-o", "loop", image.toString(), mountPoint.toString());
    if (mkfs == null && loop == null) {
      return new SmallDisk(mountPoint, image, "ext4 image on a loop device");
    }
    why.add(mkfs != null ? "mkfs.ext4: " + mkfs : "mount -o loop: " + loop);
    Files.deleteIfExists(image);
    return Assumptions.abort("this test needs a small filesystem to fill, and none could be mounted here (" + String.join("; ", why)
        + "); run it as root, or where mount is allowed");
  }

  /** Where it is mounted. */
  public Path path() {
    return mountPoint;
  }

  /**
   * Fills what is left of it with a file of zeros, to the last byte it takes.
   *
   * @return the file, to delete (or {@link #free}) for the room to come back
   */
  public Path fill() throws IOException {
    Path filler = mountPoint.resolve("filler");
    byte[] chunk = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(filler)) {
      try {
        while (true) {
          out.write(chunk);
        }
      } catch (IOException full) {
        // No space left on the device: what was wanted. Smaller writes take what whole chunks could not.
      }
      byte[] small = new byte[512];
      try {
        while (true) {
          out.write(small);
        }
      } catch (IOException full) {
        // Now it is full.
      }
    } catch (IOException closing) {
      // Flushing the last buffered bytes may fail for want of room too; the file keeps what was written.
    }
    assertTrue(Files.size(filler) > 0, "the filler took no room on " + this);
    return filler;
  }

  /** Deletes the filler, so that its room comes back. */
  public void free() throws IOException {
    Files.deleteIfExists(mountPoint.resolve("filler"));
  }

  @Override
  public void close() throws IOException, InterruptedException {
    String failure = run("umount", mountPoint.toString());
    if (failure != null) {
      // Something still holds a file there (a process the test could not stop): detach it now, it goes when they do.
      String lazy = run("umount", "-l", mountPoint.toString());
      if (lazy != null) {
        throw new IOException("cannot unmount " + this + ": " + failure + "; umount -l: " + lazy);
      }
    }
    if (image != null) {
      Files.deleteIfExists(image);
    }
  }

  /** Runs a command; returns null if it exited 0, else what it said and its exit code. */
  private static String run(String... command) throws IOException, InterruptedException {
    Path output = Files.createTempFile("offload-small-disk", ".out");
    try {
      Process p;
      try {
        p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      } catch (IOException e) {
        return e.getMessage();
      }
      if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS);
        return String.join(" ", command) + " did not end within " + COMMAND_SECONDS + " s";
      }
      return p.exitValue() == 0 ? null : Files.readString(output, StandardCharsets.UTF_8).strip() + " (exit " + p.exitValue() + ")";
    } finally {
      Files.deleteIfExists(output);
    }
  }

  @Override
  public String toString() {
    return kind + " at " + mountPoint;
  }
}
