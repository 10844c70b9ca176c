package dev.offload.supervisor.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerLogsTest {

  @TempDir Path dir;

  @Test
  void next_makesAPrivateDirectoryAndAFreshNameForTheWorker() throws Exception {
    Path logs = dir.resolve("workers");

    Path first = WorkerLogs.next(logs, "w1-0");

    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(logs)));
    assertTrue(first.getFileName().toString().endsWith("-w1-0.log"), first.toString());
    assertEquals(logs, first.getParent());
  }

  @Test
  void next_keepsTheNewestLogsOnly_oldestGoFirst() throws Exception {
    for (int i = 0; i < WorkerLogs.KEEP + 5; i++) {
      Path log = Files.writeString(dir.resolve("old-" + i + ".log"), "log " + i);
      Files.setLastModifiedTime(log, FileTime.fromMillis(1_000_000L * (i + 1)));
    }
    Path unrelated = Files.writeString(dir.resolve("notes.txt"), "kept: not a log");

    Path next = WorkerLogs.next(dir, "w2-7");
    Files.writeString(next, "new");

    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(WorkerLogs.KEEP, files.filter(f -> f.toString().endsWith(".log")).count());
    }
    for (int i = 0; i < 6; i++) {
      assertFalse(Files.exists(dir.resolve("old-" + i + ".log")), "old-" + i + ".log is among the oldest");
    }
    assertTrue(Files.exists(dir.resolve("old-" + (WorkerLogs.KEEP + 4) + ".log")));
    assertTrue(Files.exists(unrelated));
  }

  @Test
  void next_whereAFileStandsForTheDirectory_saysItIsNotOne() throws Exception {
    Path file = Files.writeString(dir.resolve("workers"), "not a directory");

    IOException refused = assertThrows(IOException.class, () -> WorkerLogs.next(file, "w1-0"));

    assertEquals(file + " is not a directory", refused.getMessage());
  }

  @Test
  void noLogFile_hasNoTail_andItsQuoteSaysWhereTheLinesWent() {
    assertEquals(List.of(), WorkerLog.SUPERVISOR_STDERR.tail(10));
    assertTrue(WorkerLog.SUPERVISOR_STDERR.quote(10).contains("its log went to the supervisor's stderr"));
  }
}
