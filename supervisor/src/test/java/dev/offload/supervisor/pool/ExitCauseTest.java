package dev.offload.supervisor.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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

    assertEquals(new WorkerLoss(RestartCause.SIGNAL, "was killed by signal 9 (SIGKILL)"), loss);
    assertEquals("signal", loss.cause().label());
  }

  @Test
  void anOutOfMemoryExit_isToldByItsStatusAndLog() throws IOException {
    WorkerLoss loss = ExitCause.of(3, log("Terminating due to java.lang.OutOfMemoryError: Java heap space\n"));

    assertEquals(RestartCause.OUT_OF_MEMORY, loss.cause());
    assertEquals("out_of_memory", loss.cause().label());
  }

  @Test
  void status3WithoutAnOutOfMemoryError_isAnOrdinaryExit() throws IOException {
    assertEquals(new WorkerLoss(RestartCause.EXITED, "exited with status 3"), ExitCause.of(3, log("bye\n")));
  }

  @Test
  void noExitOfItsOwn_isDeliberate() throws IOException {
    // Only Worker's own kill is: the supervisor knows it ended the process, the status cannot say.
    WorkerLog log = log("java.lang.OutOfMemoryError\n");
    for (int status : new int[] {0, 1, 3, 128 + 9, 128 + 15}) {
      assertFalse(ExitCause.of(status, log).deliberate(), "status " + status);
    }
  }

  private WorkerLog log(String text) throws IOException {
    return new WorkerLog(Files.writeString(dir.resolve("w1-0.log"), text));
  }
}
