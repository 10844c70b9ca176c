package dev.offload.supervisor.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExitCauseTest {

  @TempDir Path dir;

  @Test
  void aSignal_isNamed() throws IOException {
    WorkerLoss loss = ExitCause.of(128 + 9, log(""));

    assertEquals(new WorkerLoss(WorkerLoss.Cause.SIGNAL, "was killed by signal 9 (SIGKILL)"), loss);
    assertEquals("signal", loss.cause().label());
  }

  @Test
  void anOutOfMemoryExit_isToldByItsStatusAndLog() throws IOException {
    WorkerLoss loss = ExitCause.of(3, log("Terminating due to java.lang.OutOfMemoryError: Java heap space\n"));

    assertEquals(WorkerLoss.Cause.OUT_OF_MEMORY, loss.cause());
    assertEquals("out_of_memory", loss.cause().label());
  }

  @Test
  void status3WithoutAnOutOfMemoryError_isAnOrdinaryExit() throws IOException {
    assertEquals(new WorkerLoss(WorkerLoss.Cause.EXITED, "exited with status 3"), ExitCause.of(3, log("bye\n")));
  }

  @Test
  void onlyTheSupervisorsOwnKill_isDeliberate() throws IOException {
    assertFalse(ExitCause.of(128 + 15, log("")).deliberate());
    assertTrue(new WorkerLoss(WorkerLoss.Cause.KILLED_BY_SUPERVISOR, "was stopped by the supervisor (x)").deliberate());
  }

  private WorkerLog log(String text) throws IOException {
    return new WorkerLog(Files.writeString(dir.resolve("w1-0.log"), text));
  }
}
