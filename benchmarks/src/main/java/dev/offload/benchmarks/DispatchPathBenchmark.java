package dev.offload.benchmarks;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.ExecuteJob;
import dev.offload.proto.v1.ExecuteJobs;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.JobResults;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.SupervisorMessage;
import dev.offload.proto.v1.WorkerMessage;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.JobStore;
import dev.offload.supervisor.metrics.ServiceMetrics;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.worker.LogSetup;
import dev.offload.sdk.Json;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What one no-op job costs in offload's own code, I/O left out: the work the supervisor's I/O
 * thread does for a job of a batch stream (offload bench, offload batch), and the work a worker
 * does for it, message by message as the real classes do it. Set against a job's round trip
 * (offload bench at in-flight 1), it says how much of the round trip is computation and how much
 * is the wait between threads and processes (see {@link WakeUpBenchmark}). What it leaves out,
 * since it needs live workers: the {@code Dispatcher} (its lock, queue, the map of jobs sent to
 * each worker, deadline timers), the batch session's map of outstanding jobs, and gRPC's and
 * Netty's framing of each message.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DispatchPathBenchmark {

  private static final String INPUT = "{\"n\": 1, \"label\": \"a small input\"}";

  /** A client's request as it arrives on the batch stream. */
  private byte[] batchRequest;
  /** The supervisor's message to a worker, as the worker receives it. */
  private byte[] executeMessage;
  /** The worker's answer, as the supervisor receives it. */
  private byte[] resultMessage;

  private ServiceMetrics metrics;
  private JobStore jobs;

  @Setup(Level.Trial)
  public void setUp() {
    // As in the service at its default level: Logback unconfigured would log every job's end.
    LogSetup.toStderr("%level %logger: %msg%n", ch.qos.logback.classic.Level.INFO, Map.of());
    batchRequest = BatchRequest.newBuilder()
        .setKey("1")
        .setJob(SubmitJobRequest.newBuilder().setHandler("echo").setInputJson(INPUT))
        .build()
        .toByteArray();
    executeMessage = execute("job-1", "echo", INPUT).toByteArray();
    resultMessage = result("job-1", INPUT, 1_000).toByteArray();
    metrics = new ServiceMetrics(() -> 0);
    // The service's defaults: the store forgets the oldest finished job as each one ends, and
    // bounds the data finished jobs hold by a quarter of the heap.
    jobs = new JobStore(10_000, SupervisorConfig.defaultFinishedMemoryBytes(), metrics::jobEnded);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    metrics.close();
  }

  /**
   * The supervisor's part: read the request, check its input is JSON, record the job, follow it for
   * the batch stream, send it to a worker, read the worker's result, end the job (metrics and
   * store) and write the client's answer.
   */
  @Benchmark
  public void supervisorPerJob(Blackhole out) throws InvalidProtocolBufferException {
    SubmitJobRequest request = BatchRequest.parseFrom(batchRequest).getJob();
    out.consume(Json.parse(request.getInputJson()));
    Job job = jobs.create(request.getHandler(), request.getInputJson(), 0, 0, 0);
    job.subscribe(new Job.Listener() {
      @Override
      public void event(JobEvent event) {
        if (event.hasJob() && Job.isTerminal(event.getJob().getState())) {
          out.consume(BatchResult.newBuilder().setKey("1").setJob(event.getJob()).build().toByteArray());
        }
      }

      @Override
      public void kept(Job kept) {
        throw new AssertionError("no service stops here");
      }
    });
    job.start(4242);
    out.consume(execute(job.id(), job.handler(), job.inputJson()).toByteArray());
    JobResult result = WorkerMessage.parseFrom(resultMessage).getResults().getResults(0);
    job.succeed(result.getOutputJson());
  }

  /**
   * A worker's part: read the supervisor's message, run the echo handler (which returns its
   * input), check its output is JSON and write the result.
   */
  @Benchmark
  public void workerPerJob(Blackhole out) throws InvalidProtocolBufferException {
    ExecuteJob job = SupervisorMessage.parseFrom(executeMessage).getExecute().getJobs(0);
    long start = System.nanoTime();
    String output = job.getInputJson();
    out.consume(Json.parse(output));
    out.consume(result(job.getJobId(), output, System.nanoTime() - start).toByteArray());
  }

  private static SupervisorMessage execute(String id, String handler, String input) {
    ExecuteJobs.Builder jobs = ExecuteJobs.newBuilder();
    jobs.addJobsBuilder().setJobId(id).setHandler(handler).setInputJson(input);
    return SupervisorMessage.newBuilder().setExecute(jobs).build();
  }

  private static WorkerMessage result(String id, String output, long runNanos) {
    return WorkerMessage.newBuilder()
        .setResults(JobResults.newBuilder()
            .addResults(JobResult.newBuilder().setJobId(id).setOutputJson(output).setRunNanos(runNanos)))
        .build();
  }
}
