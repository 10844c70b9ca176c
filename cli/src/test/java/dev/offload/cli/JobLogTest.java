package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobLogTest {

  @TempDir Path dir;

  @Test
  void line_hasGnuParallelsNineTabSeparatedFields_fieldByField() {
    String line = JobLog.line(12, "unix:/run/offload.sock", 1_796_136_296_023L, 559, 38, 1, "is_prime {\"n\":\"x\"}");
    String[] fields = line.split("\t", -1);
    assertEquals(9, fields.length, line);
    assertEquals("12", fields[0], "Seq");
    assertEquals("unix:/run/offload.sock", fields[1], "Host");
    assertEquals("1796136296.023", fields[2], "Starttime: epoch seconds, 3 decimals");
    assertEquals("     0.559", fields[3], "JobRuntime: seconds, 3 decimals, padded to 10 as parallel's %10.3f");
    assertEquals("0", fields[4], "Send");
    assertEquals("38", fields[5], "Receive");
    assertEquals("1", fields[6], "Exitval");
    assertEquals("0", fields[7], "Signal");
    assertEquals("is_prime {\"n\":\"x\"}", fields[8], "Command");
  }

  @Test
  void line_ofALongJob_growsPastTheRuntimePadding_andAnyLineEndInTheCommandBecomesNul() {
    String[] fields = JobLog.line(1, "h", 0, 123_456_789, 0, 0, "a\nb").split("\t", -1);
    assertEquals("123456.789", fields[3]);
    assertEquals("0.000", fields[2]);
    assertEquals("a\0b", fields[8]);
  }

  @Test
  void open_afresh_writesTheHeader_andEmptiesAnEarlierLog() throws Exception {
    Path path = Files.writeString(dir.resolve("log"), "old\n");
    try (JobLog log = JobLog.open(path, false)) {
      log.write(1, "h", 1000, 2000, 3, 0, "echo 1");
    }
    assertEquals(List.of(JobLog.HEADER, JobLog.line(1, "h", 1000, 2000, 3, 0, "echo 1")), Files.readAllLines(path));
    assertEquals("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand", JobLog.HEADER);
  }

  @Test
  void open_toResume_readsWhatWasLoggedAndWhatSucceeded_andAppends() throws Exception {
    Path path = dir.resolve("log");
    try (JobLog log = JobLog.open(path, false)) {
      log.write(1, "h", 0, 0, 0, 0, "echo 1");
      log.write(3, "h", 0, 0, 0, 1, "echo 3");
      log.write(4, "h", 0, 0, 0, 4, "echo 4");
    }
    try (JobLog log = JobLog.open(path, true)) {
      assertTrue(log.earlier().logged().get(1));
      assertFalse(log.earlier().logged().get(2));
      assertTrue(log.earlier().logged().get(3));
      assertTrue(log.earlier().logged().get(4));
      assertTrue(log.earlier().succeeded().get(1));
      assertFalse(log.earlier().succeeded().get(3));
      assertFalse(log.earlier().succeeded().get(4));
      log.write(2, "h", 0, 0, 0, 0, "echo 2");
    }
    List<String> lines = Files.readAllLines(path);
    assertEquals(5, lines.size(), "one header, appended to");
    assertEquals(JobLog.HEADER, lines.get(0));
    assertTrue(lines.get(4).startsWith("2\t"));
  }

  @Test
  void open_toResume_dropsALastLineCutOffMidWrite_soItsJobRunsAgain() throws Exception {
    Path path = dir.resolve("log");
    Files.writeString(path, JobLog.HEADER + "\n" + JobLog.line(1, "h", 0, 0, 0, 0, "echo 1") + "\n2\th\t0.0", StandardCharsets.UTF_8);
    try (JobLog log = JobLog.open(path, true)) {
      assertFalse(log.earlier().logged().get(2));
      log.write(2, "h", 0, 0, 0, 0, "echo 2");
    }
    List<String> lines = Files.readAllLines(path);
    assertEquals(3, lines.size(), lines.toString());
    assertEquals(JobLog.line(2, "h", 0, 0, 0, 0, "echo 2"), lines.get(2));
  }

  @Test
  void open_toResume_aMissingFileIsAnEmptyLog_andGetsAHeader() throws Exception {
    Path path = dir.resolve("none");
    try (JobLog log = JobLog.open(path, true)) {
      assertTrue(log.earlier().logged().isEmpty());
    }
    assertEquals(List.of(JobLog.HEADER), Files.readAllLines(path));
  }

  @Test
  void open_toResume_aFileThatIsNoJoblog_isRefused_namingTheLine() throws Exception {
    Path path = Files.writeString(dir.resolve("log"), JobLog.HEADER + "\nthis is not a joblog\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobLog.open(path, true));
    assertTrue(e.getMessage().contains("line 2 is not a joblog line"), e.getMessage());
  }
}
