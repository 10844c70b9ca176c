package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** What {@code offload each} refuses before it connects to anything, and its exit statuses. */
class EachCommandTest {

  @TempDir Path dir;

  private record Result(int exitCode, String err) {}

  private Result each(String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "each";
    // A socket nobody serves: were the command to get as far as connecting, it would start a private pool.
    all[1] = "--server";
    all[2] = "unix:" + dir.resolve("nobody.sock");
    System.arraycopy(args, 0, all, 3, args.length);
    CommandLine cli = OffloadCommand.newCommandLine(all);
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(new StringWriter(), true));
    cli.setErr(new PrintWriter(err, true));
    return new Result(cli.execute(all), err.toString());
  }

  @ParameterizedTest
  @CsvSource({"0, 0", "1, 1", "3, 3", "100, 100", "101, 101", "150, 101", "1000000, 101"})
  void forFailedJobs_isTheCount_upTo100_then101(long failed, int exitCode) {
    assertEquals(exitCode, ExitCodes.forFailedJobs(failed));
  }

  @Test
  void aMalformedTemplate_exits255_beforeAnythingRuns() {
    Result r = each("echo", "{\"n\": {#}}", ":::", "1");
    assertEquals(255, r.exitCode(), r.err());
    assertTrue(r.err().contains("the replacement string {#} at character 7 stands outside quotes"), r.err());
    assertTrue(!r.err().contains("running on a private pool"), "nothing started: " + r.err());
  }

  @Test
  void resumeWithoutAJoblog_exits255() {
    Result r = each("--resume", "echo", ":::", "1");
    assertEquals(255, r.exitCode(), r.err());
    assertTrue(r.err().contains("--resume needs --joblog FILE"), r.err());
  }

  @ParameterizedTest
  @CsvSource({"always", "now", "now,fail=0", "now,fail=x", "now,success=1", "fail=1"})
  void aHaltItDoesNotKnow_exits255_sayingWhatItTakes(String halt) {
    Result r = each("--halt", halt, "echo", ":::", "1");
    assertEquals(255, r.exitCode(), r.err());
    assertTrue(r.err().contains("now,fail=N"), r.err());
  }

  @Test
  void wordsAfterTheTemplateWithoutTripleColon_exit255() {
    Result r = each("echo", "\"{}\"", "a", "b");
    assertEquals(255, r.exitCode(), r.err());
    assertTrue(r.err().contains("arguments come after :::"), r.err());
  }

  @Test
  void aJoblogThatIsNoJoblog_exits255_beforeAnythingRuns() throws Exception {
    Path log = Files.writeString(dir.resolve("log"), "not a joblog\n");
    Result r = each("--joblog", log.toString(), "--resume", "echo", ":::", "1");
    assertEquals(255, r.exitCode(), r.err());
    assertTrue(r.err().contains("line 1 is not a joblog line"), r.err());
    assertTrue(!r.err().contains("running on a private pool"), "nothing started: " + r.err());
  }
}
