package dev.offload.supervisor.store;

import dev.offload.supervisor.CacheDir;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.util.OSInfo;

/**
 * Where SQLite's native library is loaded from. Left to itself, the driver copies it into
 * {@code java.io.tmpdir} under a new name at every start, and removes it only on a normal exit: a
 * service killed with {@code kill -9} leaves 1 MB behind in {@code /tmp} each time. Instead it is
 * copied once into the user's cache directory ({@code $XDG_CACHE_HOME/offload/sqlite-HASH/}, else
 * {@code ~/.cache/offload/}), keyed by its SHA-256, and every later start loads that copy; a
 * cache deleted meanwhile is made again. If that cannot be done (a read-only home, a platform
 * whose library the driver does not carry), the driver's own way is left to work as it does.
 */
final class SqliteNative {

  private static final Logger LOG = LoggerFactory.getLogger(SqliteNative.class);

  private static boolean prepared;

  private SqliteNative() {}

  /** Points the driver at the cached copy, made if needed; once per JVM, before the first connection. */
  static synchronized void prepare() {
    if (prepared || System.getProperty("org.sqlite.lib.path") != null) {
      prepared = true;
      return; // done, or chosen by whoever runs this JVM
    }
    prepared = true;
    String name = System.mapLibraryName("sqlitejdbc");
    String resource = "/org/sqlite/native/" + OSInfo.getNativeLibFolderPathForCurrentOS() + "/" + name;
    try (InputStream in = OSInfo.class.getResourceAsStream(resource)) {
      if (in == null) {
        return; // the driver finds its own way (a system library, or none)
      }
      byte[] bytes = in.readAllBytes();
      String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
      Path dir = CacheDir.path().resolve("sqlite-" + hash);
      Path library = dir.resolve(name);
      if (!Files.isRegularFile(library) || Files.size(library) != bytes.length) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path part = Files.createTempFile(dir, name, ".part");
        try {
          Files.write(part, bytes);
          Files.move(part, library, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
          Files.deleteIfExists(part);
        }
      }
      System.setProperty("org.sqlite.lib.path", dir.toString());
      System.setProperty("org.sqlite.lib.name", name);
    } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
      LOG.debug("SQLite's native library is left to the driver to place: {}", e.toString());
    }
  }
}
