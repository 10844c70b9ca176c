package dev.offload.supervisor;

import java.nio.file.Path;

/**
 * offload's directory in the user's cache: {@code $XDG_CACHE_HOME/offload}, else {@code
 * ~/.cache/offload}. What is kept there (the worker distribution, SQLite's native library) is
 * made again from offload's jars if it is deleted, as a cache may be at any time.
 */
public final class CacheDir {

  private CacheDir() {}

  /**
   * The directory; it may not exist yet.
   *
   * @return {@code $XDG_CACHE_HOME/offload}, else {@code ~/.cache/offload}
   */
  public static Path path() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("offload");
  }
}
