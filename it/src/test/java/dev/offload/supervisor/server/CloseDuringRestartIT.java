package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service closed while it replaces a lost worker ends the replacement too, before close()
 * returns: a worker JVM still starting is not yet in its slot, and the pool once left it to the
 * thread starting it (ChaosIT, whose kills make this common, once found one alive 10 s later).
 */
@ExtendWith(NoLeftoverProcesses.class)
class CloseDuringRestartIT {

  private static final Pattern SOCKET_ARGUMENT = Pattern.compile("-Doffload\\.worker\\.socket=(\\S+)");

  @TempDir Path dir;

  @Test
  void closingWhileAReplacementStarts_endsTheReplacementWithIt() throws Exception {
    // Closed by the try, so that a failed assertion inside leaves no service running either.
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      long lost = service.supervisor().workerPids().getFirst();
      ProcessHandle.of(lost).orElseThrow().destroyForcibly();
      // The narrowest window: the replacement serves on its socket, but the pool has yet to connect.
      Await.until("the replacement's socket", Duration.ofSeconds(10), () -> NoLeftoverProcesses.descendants().stream()
          .filter(p -> p.pid() != lost)
          .flatMap(p -> p.info().commandLine().stream())
          .map(SOCKET_ARGUMENT::matcher)
          .anyMatch(m -> m.find() && Files.exists(Path.of(m.group(1)))));
      assertEquals(List.of(), service.supervisor().workerPids(), "the replacement is still starting as the service closes");
    }

    assertEquals(List.of(), NoLeftoverProcesses.descendants().stream().map(ProcessHandle::pid).toList(),
        "close() returned while a worker it was starting still ran");
  }
}
