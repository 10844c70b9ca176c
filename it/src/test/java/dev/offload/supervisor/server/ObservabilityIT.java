package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.HandlerTimes;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.supervisor.metrics.MetricsEndpoint;
import dev.offload.testing.Await;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code offload stats} and {@code serve --metrics} show after real work: jobs by handler and
 * state, wait and run percentiles, throughput, per-worker memory and CPU, restarts by cause.
 */
@ExtendWith(NoLeftoverProcesses.class)
class ObservabilityIT {

  private static final int ECHO_JOBS = 20;

  @TempDir static Path dir;
  static RunningService service;
  static MetricsEndpoint endpoint;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(1), dir);
    endpoint = MetricsEndpoint.start(new InetSocketAddress("127.0.0.1", 0), service.supervisor().metrics());
    for (int i = 0; i < ECHO_JOBS; i++) {
      service.client().wire().run(SubmitJobRequest.newBuilder().setHandler("echo").setInputJson(Integer.toString(i)).build(), e -> {});
    }
    // One worker death: a restart to count, by cause.
    var crashed = service.client().wire().run(SubmitJobRequest.newBuilder().setHandler("crash").setInputJson("{\"mode\": \"exit\", \"code\": 7}").build(), e -> {});
    assertEquals(JobState.FAILED, crashed.getState());
    Await.until("the pool to be whole again", Duration.ofSeconds(30),
        () -> service.client().wire().poolStatus().getWorkersList().stream().allMatch(w -> w.getPid() != 0));
  }

  @AfterAll
  static void stop() throws Exception {
    endpoint.close();
    service.close();
  }

  @Test
  void stats_showPercentilesThroughputAndWorkerResources() throws Exception {
    Await.until("a memory sample of the worker", Duration.ofSeconds(10),
        () -> service.client().wire().poolStatus().getWorkers(0).getRssBytes() > 0);
    GetPoolStatusResponse status = service.client().wire().poolStatus();

    HandlerTimes echo = status.getHandlerTimesList().stream().filter(t -> t.getHandler().equals("echo")).findFirst().orElseThrow();
    assertEquals(ECHO_JOBS, echo.getJobs());
    assertTrue(echo.getRunP50Ms() > 0 && echo.getRunP50Ms() <= echo.getRunP99Ms(), echo.toString());
    assertTrue(status.getJobsPerSecondLastMinute() > 0, "jobs ended within the minute");
    WorkerStatus worker = status.getWorkers(0);
    assertTrue(worker.getCpuMs() > 0, worker.toString());
    assertEquals(1, worker.getRestarts());
  }

  @Test
  void prometheusEndpoint_exposesJobsTimesQueueRestartsAndJvm() throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());

    assertEquals(200, response.statusCode());
    String body = response.body();
    assertTrue(body.contains("offload_jobs_total{handler=\"echo\",state=\"SUCCEEDED\"} " + ECHO_JOBS), body);
    assertTrue(body.contains("offload_jobs_total{handler=\"crash\",state=\"FAILED\"} 1"), body);
    assertTrue(body.contains("offload_job_run_seconds_bucket{handler=\"echo\""), body);
    assertTrue(body.contains("offload_job_wait_seconds_count{handler=\"echo\"} " + ECHO_JOBS), body);
    assertTrue(body.contains("offload_queue_depth 0"), body);
    assertTrue(body.contains("offload_worker_restarts_total{cause=\"exited\"} 1"), body);
    assertTrue(body.contains("jvm_memory_used_bytes"), body);
  }
}
