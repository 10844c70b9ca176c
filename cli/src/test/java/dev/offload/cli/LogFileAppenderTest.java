package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.rolling.TimeBasedRollingPolicy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service's log file when it cannot be written: one warning on stderr naming the file and the
 * error, and a count of every line lost. In a Logback context of its own, not the test JVM's.
 */
class LogFileAppenderTest {

  @TempDir Path dir;
  private final LoggerContext context = new LoggerContext();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void start() {
    context.setMDCAdapter(new LogbackMDCAdapter()); // what SLF4J's binding does for the JVM's own context
    context.start();
  }

  @AfterEach
  void stop() {
    context.stop();
  }

  private LogFileAppender appenderOn(Path file) {
    LogFileAppender appender = Logging.fileAppender(context, file, new PrintWriter(err, true));
    context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(appender);
    return appender;
  }

  private List<String> warnings() {
    return err.toString().lines().filter(l -> l.contains("WARNING")).toList();
  }

  @Test
  void fullDisk_warnsOnceNamingTheFileAndWhy_andCountsEveryLostLine() throws Exception {
    Path file = Files.createSymbolicLink(dir.resolve("offload.log"), Path.of("/dev/full")); // every write: ENOSPC
    LogFileAppender appender = appenderOn(file);
    // /dev/full's timestamp is usually the machine's boot: on a later day Logback takes the link
    // for an earlier day's log and rolls it over at the first line (renames the link, then writes
    // a fresh file, and compresses the endless /dev/full until it stops). Its clock is set to that
    // timestamp, so that the link stays the log file.
    ((TimeBasedRollingPolicy<?>) appender.getRollingPolicy()).getTimeBasedFileNamingAndTriggeringPolicy()
        .setCurrentTime(Files.getLastModifiedTime(file).toMillis());
    Logger log = context.getLogger("test");

    for (int i = 1; i <= 5; i++) {
      log.info("line {}", i);
      assertEquals(i, appender.failures(), "after line " + i);
    }

    assertEquals(1, warnings().size(), err.toString());
    assertTrue(warnings().getFirst().contains(file.toString()) && warnings().getFirst().contains("No space left on device"), err.toString());
  }

  @Test
  void logFileThatIsADirectory_warnsOnce_andCountsEveryLostLine() throws Exception {
    Path file = Files.createDirectory(dir.resolve("offload.log"));
    LogFileAppender appender = appenderOn(file);
    Logger log = context.getLogger("test");

    for (int i = 0; i < 3; i++) {
      log.warn("lost");
    }

    assertEquals(3, appender.failures());
    assertEquals(1, warnings().size(), err.toString());
    assertTrue(warnings().getFirst().contains(file.toString()), err.toString());
  }

  @Test
  void writableFile_keepsEveryLine_andSaysNothing() throws Exception {
    Path file = dir.resolve("offload.log");
    LogFileAppender appender = appenderOn(file);

    context.getLogger("test").info("kept");

    assertEquals(0, appender.failures());
    assertEquals("", err.toString());
    assertTrue(Files.readString(file).contains("kept"));
  }
}
