package dev.offload.supervisor.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerLogTest {

  private static final String EARLIER = "job j-1 failed\n\tat Handler.run\n";
  private static final String LATER = "job j-2 says goodbye\nTerminating due to java.lang.OutOfMemoryError\n";

  @TempDir Path dir;

  @Test
  void tail_fromWhereAJobBegan_hasOnlyItsLines() throws Exception {
    WorkerLog log = new WorkerLog(Files.writeString(dir.resolve("w.log"), EARLIER + LATER));

    assertEquals(List.of("job j-2 says goodbye", "Terminating due to java.lang.OutOfMemoryError"),
        log.tail(5, EARLIER.getBytes(StandardCharsets.UTF_8).length));
    assertEquals(List.of("Terminating due to java.lang.OutOfMemoryError"), log.tail(1, EARLIER.length()));
    assertEquals(4, log.tail(5, 0).size());
  }

  @Test
  void quote_fromTheEnd_isEmpty() throws Exception {
    WorkerLog log = new WorkerLog(Files.writeString(dir.resolve("w.log"), EARLIER));

    assertEquals("", log.quote(5, EARLIER.length()));
  }
}
