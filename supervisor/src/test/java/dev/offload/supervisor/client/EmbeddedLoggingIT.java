package dev.offload.supervisor.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.supervisor.testing.NoLeftoverProcesses;
import dev.offload.supervisor.testing.RunningService;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pool embedded in an application whose class path the workers share: their logging is their
 * own, whatever SLF4J backend the application brings.
 */
@ExtendWith(NoLeftoverProcesses.class)
class EmbeddedLoggingIT {

  private static final String CLASS_PATH = System.getProperty("java.class.path");

  @TempDir Path dir;

  @Test
  void workers_withAnotherSlf4jBackendFirstOnTheirClassPath_startLogWithLogbackAndRunJobs() throws Exception {
    String simple = System.getProperty("offload.test.slf4jSimpleJar");
    assertTrue(simple != null && Files.isRegularFile(Path.of(simple)),
        "-Doffload.test.slf4jSimpleJar must name slf4j-simple's jar (the supervisor's pom sets it): " + simple);
    Path logs = dir.resolve("logs");
    SupervisorConfig config = SupervisorConfig.defaults()
        .withPool(RunningService.pool(1).classpath(simple + File.pathSeparator + CLASS_PATH).logDir(logs).build());

    try (ProcessPool pool = ProcessPool.start(config)) {
      assertEquals("{\"n\":7,\"prime\":true}", pool.run("is_prime", "7"));
      // A failed job is a warning in the worker's log: in Logback's layout, not slf4j-simple's.
      Job failed = pool.client().run(SubmitJobRequest.newBuilder().setHandler("is_prime").setInputJson("\"seven\"").build(), e -> {});
      assertEquals(JobState.FAILED, failed.getState());
    }
    String log = workerLogs(logs);
    assertTrue(log.lines().anyMatch(l -> l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  \\[offload-job] .*JobRunner: job .* failed")), log);
    assertFalse(log.contains("SLF4J"), "SLF4J chose its provider without a word: " + log);
  }

  @Test
  void workers_withoutLogbackOnTheirClassPath_refuseToStartSayingSo() {
    String withoutLogback = Arrays.stream(CLASS_PATH.split(File.pathSeparator))
        .filter(entry -> !Path.of(entry).getFileName().toString().startsWith("logback-"))
        .collect(Collectors.joining(File.pathSeparator));
    SupervisorConfig config = SupervisorConfig.defaults().withPool(RunningService.pool(1).classpath(withoutLogback).build());

    WorkerStartException e = assertThrows(WorkerStartException.class, () -> ProcessPool.start(config).close());
    assertTrue(e.getMessage().contains("refused to start: Logback (logback-classic) is not on the class path"), e.getMessage());
  }

  private static String workerLogs(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> logs = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
      StringBuilder all = new StringBuilder();
      for (Path log : logs) {
        all.append(Files.readString(log));
      }
      return all.toString();
    }
  }
}
