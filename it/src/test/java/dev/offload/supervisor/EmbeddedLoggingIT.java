package dev.offload.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  private static final Duration APP_LIMIT = Duration.ofSeconds(120);
  /** The headers in gRPC-netty's log line of an outbound HEADERS frame. */
  private static final Pattern HEADERS = Pattern.compile("headers=GrpcHttp2OutboundHeaders\\[(.*?)] (?:streamDependency|padding)=");
  private static final Set<String> STANDARD_HEADERS =
      Set.of(":authority", ":path", ":method", ":scheme", "content-type", "te", "user-agent", "grpc-accept-encoding", "grpc-timeout");

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
      assertEquals("{\"n\":7,\"prime\":true}", pool.runJson("is_prime", "7"));
      // A failed job is a warning in the worker's log: in Logback's layout, not slf4j-simple's.
      Job failed = pool.client().wire().run(SubmitJobRequest.newBuilder().setHandler("is_prime").setInputJson("\"seven\"").build(), e -> {});
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

  @Test
  void everyLoggerAtTrace_theWorkersCallsCarryNoCredential() throws Exception {
    Path logs = dir.resolve("logs");
    Path output = dir.resolve("app.log");
    Process app = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", CLASS_PATH, VerboseEmbeddingApp.class.getName(), logs.toString())
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      assertTrue(app.waitFor(APP_LIMIT.toSeconds(), TimeUnit.SECONDS), "the app did not end within " + APP_LIMIT.toSeconds() + " s");
    } finally {
      app.destroyForcibly().waitFor();
    }
    String log = Files.readString(output) + workerLogs(logs);
    assertEquals(0, app.exitValue(), tail(log));

    // gRPC's frame logger printed every header of every call to the worker ...
    List<String> workerCalls = log.lines()
        .filter(l -> l.contains("OUTBOUND HEADERS") && l.contains(":path: /offload.v1.Worker/"))
        .toList();
    assertTrue(workerCalls.size() >= 2, "DescribeWorker and Connect, their headers logged:\n" + tail(log));
    // ... and those are HTTP/2's and gRPC's own: nothing that proves who calls, which a log would keep.
    for (String call : workerCalls) {
      Matcher headers = HEADERS.matcher(call);
      assertTrue(headers.find(), call);
      for (String header : headers.group(1).split(", ")) {
        String name = header.substring(0, header.indexOf(": ", 1));
        assertTrue(STANDARD_HEADERS.contains(name), "a call to a worker carries the header '" + name + "': " + call);
      }
    }
  }

  private static String tail(String log) {
    return log.substring(Math.max(0, log.length() - 20_000));
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
