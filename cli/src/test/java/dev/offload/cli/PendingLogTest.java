package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PendingLogTest {

  @TempDir Path dir;

  @Test
  void journal_keepsAcceptedLinesUntilAnswered_andSurvivesAKilledRun() throws IOException {
    Path output = dir.resolve("out.jsonl");
    PendingLog log = PendingLog.open(output, false);
    log.accepted(1, "a", "j-1");
    log.accepted(2, "b", "j-2");
    log.accepted(3, "c", "j-3");
    log.answered(2);
    log.answered(7); // never accepted: nothing to write

    // Read as a later run would if this one were killed now, without close.
    Map<Long, PendingLog.Entry> pending = PendingLog.read(dir.resolve("out.jsonl.pending"));
    assertEquals(Map.of(1L, new PendingLog.Entry(1, "a", "j-1"), 3L, new PendingLog.Entry(3, "c", "j-3")), pending);
    assertEquals(5, Files.readAllLines(log.path()).size(), "the batch's id, then three acceptances and one answer, appended");
    assertEquals(log.batch(), PendingLog.readJournal(log.path()).batch());
  }

  @Test
  void close_compactsToTheBatchAndThePendingLines_andDeletesTheFileOnlyOnceTheBatchIsComplete() throws IOException {
    Path output = dir.resolve("out.jsonl");
    String batch;
    try (PendingLog log = PendingLog.open(output, false)) {
      batch = log.batch();
      for (int line = 1; line <= 100; line++) {
        log.accepted(line, "id" + line, "j-" + line);
        if (line != 42) {
          log.answered(line);
        }
      }
    }
    Path file = PendingLog.pathFor(output);
    assertEquals(List.of("{\"batch\":\"" + batch + "\"}", "{\"line\":42,\"id\":\"id42\",\"job\":\"j-42\"}"), Files.readAllLines(file));

    try (PendingLog resumed = PendingLog.open(output, true)) {
      assertEquals(batch, resumed.batch(), "--resume goes on with the batch's id");
      assertEquals(Map.of(42L, new PendingLog.Entry(42, "id42", "j-42")), resumed.resumed());
      resumed.answered(42);
    }
    // Nothing pending, but the batch was cut off again: a line sent and never acknowledged has
    // no entry, and only its key (the batch's id) finds its job.
    assertEquals(List.of("{\"batch\":\"" + batch + "\"}"), Files.readAllLines(file));

    try (PendingLog resumed = PendingLog.open(output, true)) {
      assertEquals(batch, resumed.batch());
      resumed.complete();
    }
    assertFalse(Files.exists(file), "gone once the batch answered every line");
  }

  @Test
  void key_isTheBatchAndTheLine_andCountsTheRunsThatDidNotSucceed() throws IOException {
    try (PendingLog log = PendingLog.open(dir.resolve("out.jsonl"), false)) {
      String batch = log.batch();
      assertEquals(batch, java.util.UUID.fromString(batch).toString(), "a UUID");
      assertEquals(batch + ":12", log.key(12, 0));
      assertEquals(batch + ":12:2", log.key(12, 2));
      assertTrue(log.key(Long.MAX_VALUE, Integer.MAX_VALUE).length() <= dev.offload.wire.IdempotencyKeys.MAX_BYTES);
    }
    try (PendingLog other = PendingLog.open(dir.resolve("other.jsonl"), false)) {
      assertFalse(other.key(12, 0).equals(PendingLog.keyFor(PendingLog.readJournal(PendingLog.pathFor(dir.resolve("out.jsonl"))).batch(), 12, 0)),
          "another batch, other keys");
    }
  }

  @Test
  void resume_ofAJournalWithoutABatchId_givesTheBatchANewOne() throws IOException {
    Path output = dir.resolve("out.jsonl");
    Files.writeString(PendingLog.pathFor(output), "{\"line\":1,\"id\":\"a\",\"job\":\"j-1\"}\n");
    try (PendingLog log = PendingLog.open(output, true)) {
      assertEquals(Map.of(1L, new PendingLog.Entry(1, "a", "j-1")), log.resumed());
      assertEquals(log.batch(), PendingLog.readJournal(PendingLog.pathFor(output)).batch(), "written at once");
    }
  }

  @Test
  void openWithoutResume_forgetsAnEarlierJournal_andItsBatchId() throws IOException {
    Path output = dir.resolve("out.jsonl");
    Files.writeString(PendingLog.pathFor(output), "{\"batch\":\"earlier\"}\n{\"line\":1,\"id\":\"a\",\"job\":\"j-1\"}\n");
    try (PendingLog log = PendingLog.open(output, false)) {
      assertTrue(log.resumed().isEmpty());
      assertFalse(log.batch().equals("earlier"));
      log.complete();
    }
    assertFalse(Files.exists(PendingLog.pathFor(output)));
  }

  @Test
  void read_ignoresALastEntryCutOffMidWrite_andRefusesAFileThatIsNotAJournal() throws IOException {
    Path file = dir.resolve("x.pending");
    Files.writeString(file, "{\"line\":1,\"id\":\"a\",\"job\":\"j-1\"}\n{\"line\":2,\"id\":\"b\",\"jo");
    assertEquals(Map.of(1L, new PendingLog.Entry(1, "a", "j-1")), PendingLog.read(file));

    Files.writeString(file, "{\"id\":\"a\"}\n");
    IOException e = assertThrows(IOException.class, () -> PendingLog.read(file));
    assertTrue(e.getMessage().contains(file + " line 1 is not an entry") && e.getMessage().contains("move the file away"),
        e.getMessage());
  }

  @Test
  void batchOutput_tellsEachLineWritten_once_inOrderWhenOrdered() {
    List<Long> written = new ArrayList<>();
    BatchOutput out = new BatchOutput(new PrintWriter(new StringWriter()), true, written::add);
    out.notRun(2, "b", BatchOutput.INVALID, "INVALID_ARGUMENT", "bad");
    out.skip(1);
    out.notRun(4, "d", BatchOutput.INVALID, "INVALID_ARGUMENT", "bad");
    out.close();
    assertEquals(List.of(1L, 2L, 4L), written);
  }

  @Test
  void resumeLogAnswered_findsPendingLinesWhoseResultIsWrittenAlready_inAnyState() throws IOException {
    Path output = dir.resolve("out.jsonl");
    Files.writeString(output, "{\"id\":\"a\",\"line\":1,\"state\":\"FAILED\"}\n{\"id\":\"c\",\"line\":3,\"state\":\"SUCCEEDED\"}\n"
        + "{\"id\":\"d\",\"li");
    assertEquals(java.util.Set.of(1L, 3L), ResumeLog.answered(output, java.util.Set.of(1L, 2L, 3L, 4L)));
    assertTrue(ResumeLog.answered(dir.resolve("none.jsonl"), java.util.Set.of(1L)).isEmpty());
  }

  @Test
  void resumeLogSettled_succeededAndLostWithTheService_butNotOtherFailures() throws IOException {
    Path output = dir.resolve("out.jsonl");
    Files.writeString(output, String.join("\n",
        "{\"id\":\"a\",\"line\":1,\"state\":\"SUCCEEDED\",\"error\":null}",
        "{\"id\":\"b\",\"line\":2,\"state\":\"FAILED\",\"error\":{\"code\":\"SERVICE_LOST\",\"message\":\"lost\"}}",
        "{\"id\":\"c\",\"line\":3,\"state\":\"FAILED\",\"error\":{\"code\":\"WORKER_LOST\",\"message\":\"crashed\"}}",
        "{\"id\":\"d\",\"line\":4,\"state\":\"LOST\",\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"pruned\"}}",
        // Lost once, and succeeded in a run before this fix (which ran such lines again): succeeded.
        "{\"id\":\"e\",\"line\":5,\"state\":\"FAILED\",\"error\":{\"code\":\"SERVICE_LOST\",\"message\":\"lost\"}}",
        "{\"id\":\"e\",\"line\":5,\"state\":\"SUCCEEDED\",\"error\":null}",
        "{\"id\":\"f\",\"li"));
    ResumeLog.Settled settled = ResumeLog.settledIds(output);
    assertEquals(Map.of(2L, 1, 3L, 1, 4L, 1, 5L, 1), settled.tries(), "results that did not succeed, by line");
    assertEquals(0, settled.triesOf(1));
    assertEquals(java.util.Set.of("a", "e"), settled.succeeded());
    assertEquals(java.util.Set.of("b"), settled.lost());
    assertTrue(settled.contains("b") && !settled.contains("c") && !settled.contains("d") && !settled.contains("f"));
    assertTrue(ResumeLog.settledIds(dir.resolve("none.jsonl")).succeeded().isEmpty());
  }
}
