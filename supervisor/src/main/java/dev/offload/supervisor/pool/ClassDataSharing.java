package dev.offload.supervisor.pool;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Worker start-up with a class-data-sharing archive: the classes a worker loads (gRPC, Netty,
 * protobuf, Jackson) are mapped from an archive instead of being parsed and verified again, which
 * halves the time from spawn to ready. The build makes the archive with a training run (see the
 * supervisor's pom) and the launcher names it; a pool started any other way, or one whose archive
 * does not match its JDK or class path, simply starts without it.
 */
final class ClassDataSharing {

  /** The archive workers use, if it exists. */
  static final String ARCHIVE_PROPERTY = "offload.worker.cds";
  /** Where a training run's worker writes the archive when it exits. */
  static final String DUMP_PROPERTY = "offload.worker.cdsDump";

  /**
   * A stale or foreign archive is not an error (the JVM falls back to loading classes as usual),
   * so its warnings are kept out of the worker's log.
   */
  private static final List<String> QUIET = List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off");

  private ClassDataSharing() {}

  /**
   * Whether workers write an archive when they exit (a training run): they need far longer than a
   * normal exit to do so (seconds on a busy machine), and a worker killed while writing leaves the
   * previous archive in place, which no longer matches the jars and is then ignored by every
   * worker.
   */
  static boolean workersDumpAtExit() {
    String dump = System.getProperty(DUMP_PROPERTY);
    return dump != null && !dump.isBlank();
  }

  static List<String> workerOptions() {
    String dump = System.getProperty(DUMP_PROPERTY);
    if (dump != null && !dump.isBlank()) {
      return concat("-XX:ArchiveClassesAtExit=" + dump);
    }
    String archive = System.getProperty(ARCHIVE_PROPERTY);
    if (archive != null && !archive.isBlank() && Files.isRegularFile(Path.of(archive))) {
      return concat("-XX:SharedArchiveFile=" + archive);
    }
    return List.of();
  }

  private static List<String> concat(String option) {
    return java.util.stream.Stream.concat(java.util.stream.Stream.of(option), QUIET.stream()).toList();
  }
}
