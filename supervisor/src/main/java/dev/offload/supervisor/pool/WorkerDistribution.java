package dev.offload.supervisor.pool;

import dev.offload.supervisor.CacheDir;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The worker's own class path: the worker, the SDK, their libraries and Logback, never this JVM's
 * class path, so that nothing of the worker (Logback above all) reaches an application that embeds
 * a pool, and nothing of the application reaches its workers.
 *
 * <p>The build packs the worker distribution into offload-supervisor's jar as a zip of jars, with
 * its SHA-256 beside it. The first pool to start on a machine extracts it once into the user's
 * cache directory, in a directory named after that hash, and every later pool starts its workers
 * from there. That works the same from a plain {@code java -cp}, {@code mvn exec:java}, a fat jar
 * or an IDE. Two JVMs that extract at once each write a directory of their own and move it into
 * place; the one that moves second finds the first's and uses it.
 *
 * <p>The system property {@value #HOME_PROPERTY} names a directory whose {@code lib/} holds the
 * worker's jars instead: the launcher's, which the build extracted next to the CLI so that the
 * workers' class-data-sharing archive matches their class path.
 */
final class WorkerDistribution {

  /** A directory whose {@code lib/} holds the worker's jars, used instead of the packed one. */
  static final String HOME_PROPERTY = "offload.worker.home";

  private static final String ZIP = "offload-worker.zip";
  private static final String HASH = ZIP + ".sha256";
  /** Written last into an extracted directory: one without it was never finished. */
  private static final String COMPLETE = "complete";

  private WorkerDistribution() {}

  /** The worker's class path, entries joined with {@link File#pathSeparator}. */
  static String classpath() {
    String home = System.getProperty(HOME_PROPERTY);
    Path dir = home != null && !home.isBlank() ? Path.of(home) : extracted();
    return jars(dir.resolve("lib")).stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
  }

  /** The packed distribution's directory in the cache, extracted first if it is not there yet. */
  private static Path extracted() {
    String hash = packedHash();
    Path dir = CacheDir.path().resolve("worker-" + hash.substring(0, 16));
    if (Files.exists(dir.resolve(COMPLETE))) {
      return dir;
    }
    try {
      Files.createDirectories(dir.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Path staging = Files.createTempDirectory(dir.getParent(), dir.getFileName() + ".part-");
      try {
        extract(hash, staging);
        Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
        // Another JVM finished first (or left an unfinished one, which a complete one replaces).
        if (!Files.exists(dir.resolve(COMPLETE))) {
          removeTree(dir);
          Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
        }
      } finally {
        removeTree(staging);
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract offload's worker distribution into " + dir + ": " + e.getMessage()
          + "; make the cache directory writable, or set XDG_CACHE_HOME to one that is", e);
    }
  }

  private static String packedHash() {
    try (InputStream in = WorkerDistribution.class.getResourceAsStream(HASH)) {
      if (in == null) {
        throw new IllegalStateException("offload-supervisor has no worker distribution (" + ZIP + "): its classes were"
            + " not built by Maven's package phase; build it with mvn package, or give the pool a worker class path"
            + " (PoolConfig.Builder.classpath)");
      }
      String hash = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip().split("\\s+")[0];
      if (!hash.matches("[0-9a-f]{64}")) {
        throw new IllegalStateException("the worker distribution's hash (" + HASH + ") is not a SHA-256: " + hash);
      }
      return hash;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + HASH + " from offload-supervisor's jar", e);
    }
  }

  /** Unpacks the zip into {@code dir}, checks it against its hash, and marks it complete. */
  private static void extract(String hash, Path dir) throws IOException {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
    try (InputStream packed = WorkerDistribution.class.getResourceAsStream(ZIP)) {
      if (packed == null) {
        throw new IOException(ZIP + " is missing from offload-supervisor's jar, though its hash is there");
      }
      DigestInputStream digesting = new DigestInputStream(packed, sha256);
      try (ZipInputStream zip = new ZipInputStream(digesting)) {
        for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
          Path target = dir.resolve(entry.getName()).normalize();
          if (!target.startsWith(dir)) {
            throw new IOException("the worker distribution holds a path outside its directory: " + entry.getName());
          }
          if (entry.isDirectory()) {
            Files.createDirectories(target);
          } else {
            Files.createDirectories(target.getParent());
            Files.copy(zip, target);
          }
        }
        // The zip's central directory, which the entries do not cover, so that the digest covers every byte.
        digesting.transferTo(OutputStream.nullOutputStream());
      }
    }
    String actual = HexFormat.of().formatHex(sha256.digest());
    if (!actual.equals(hash)) {
      throw new IOException("the worker distribution does not match its hash (" + actual + ", expected " + hash
          + "); offload-supervisor's jar is damaged: rebuild or download it again");
    }
    Files.createFile(dir.resolve(COMPLETE));
  }

  private static List<Path> jars(Path lib) {
    try (Stream<Path> files = Files.list(lib)) {
      List<Path> jars = new ArrayList<>(files.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList());
      if (jars.isEmpty()) {
        throw new IllegalStateException("the worker distribution at " + lib + " holds no jar");
      }
      return jars;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the worker's jars in " + lib + ": " + e.getMessage(), e);
    }
  }

  private static void removeTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
