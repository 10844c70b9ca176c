package dev.offload.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.client.BatchCall;
import dev.offload.client.OffloadClient;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.sdk.Json;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code offload bench}: throughput and latency of jobs through a service (or a private pool), at
 * several in-flight levels, like {@code redis-benchmark}. Jobs go over one batch stream, so the
 * figures are what {@code offload batch} and the client API get. Latency is from send to result,
 * seen by this client; each result's callback sends the next job, as an asynchronous caller does.
 * With {@code --submit-only} it measures acceptance instead: SubmitJob until the service answers,
 * which it does once the job is recorded in its store.
 */
@Command(name = "bench", description = "Measure jobs/s and latency percentiles at several in-flight levels.")
final class BenchCommand implements Callable<Integer> {

  /** How long --submit-only waits, after a level, for the jobs it submitted to end. */
  private static final long DRAIN_LIMIT_NANOS = TimeUnit.MINUTES.toNanos(10);

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--handler", defaultValue = "echo", description = "The job to run (default: ${DEFAULT-VALUE}, a no-op).")
  String handler;

  @Option(names = "--input", defaultValue = "1", description = "Its input JSON (default: ${DEFAULT-VALUE}).")
  String input;

  @Option(names = "--input-file", paramLabel = "FILE",
      description = "Inputs, one JSON value per line, given to the jobs in turn instead of --input (blank lines are skipped).")
  Path inputFile;

  @Option(names = "--jobs", defaultValue = "5000", description = "Jobs per in-flight level (default: ${DEFAULT-VALUE}).")
  int jobs;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "10000",
      description = "Jobs run at each in-flight level before its measured ones, and not reported, so the figures are"
          + " those of a warm service: JIT-compiled supervisor, workers and client (default: ${DEFAULT-VALUE}; 0 measures a cold one).")
  int warmup;

  @Option(names = "--in-flight", split = ",", defaultValue = "1,8,64,256", paramLabel = "LIST",
      description = "In-flight levels to measure (default: ${DEFAULT-VALUE}).")
  int[] inFlight;

  @Option(names = "--workers", paramLabel = "N", description = "Workers of the private pool, when no service is running (default: one per core).")
  Integer workers;

  @Option(names = "--submit-only",
      description = "Measure acceptance, not results: each job goes by the SubmitJob rpc, which answers once the job is"
          + " recorded in the service's store (committed, with serve's --durability), and the next is submitted when that"
          + " answer comes, on each of IN-FLIGHT threads. Latency is submit to answer; jobs/s counts answers. The jobs still"
          + " run: after each level, warm-up included, the command waits until the service has none queued or running.")
  boolean submitOnly;

  @Option(names = "--pause", paramLabel = "DURATION", defaultValue = "0ms", converter = DurationConverter.class,
      description = "Send each next job this long after the result (with --submit-only, the answer) that makes room for it"
          + " (default: ${DEFAULT-VALUE}). Latency still counts from send to result, and jobs/s counts the pauses too: with"
          + " --in-flight 1 this measures jobs that come to an idle service.")
  Duration pause;

  @Option(names = "--json", description = "Print the figures as JSON.")
  boolean json;

  /** One measured level. */
  record Figure(int inFlight, int jobs, double seconds, long p50Micros, long p90Micros, long p99Micros) {
    double jobsPerSecond() {
      return jobs / seconds;
    }
  }

  @Override
  public Integer call() throws Exception {
    if (jobs < 1 || Arrays.stream(inFlight).anyMatch(n -> n < 1)) {
      throw new ParameterException(spec.commandLine(), "--jobs and every --in-flight level must be 1 or more");
    }
    if (warmup < 0) {
      throw new ParameterException(spec.commandLine(), "--warmup must be 0 or more, got " + warmup);
    }
    List<SubmitJobRequest> requests = requests();
    PoolConfig.Builder pool = PoolConfig.defaults().toBuilder();
    if (workers != null) {
      pool.workers(workers);
    }
    try (ServiceConnection connection = ServiceConnection.open(server, pool.build(), spec.commandLine().getErr())) {
      OffloadClient client = connection.client();
      return report(connection.describe(), client.wire().poolStatus().getWorkersCount(), measure(client, requests));
    }
  }

  private List<Figure> measure(OffloadClient client, List<SubmitJobRequest> requests) throws InterruptedException {
    List<Figure> figures = new ArrayList<>();
    for (int level : inFlight) {
      if (warmup > 0) {
        measureLevel(client, requests, level, warmup); // each level exercises its own paths and timings
      }
      figures.add(measureLevel(client, requests, level, jobs));
    }
    return figures;
  }

  private Figure measureLevel(OffloadClient client, List<SubmitJobRequest> requests, int level, int count) throws InterruptedException {
    if (!submitOnly) {
      return run(client, requests, level, count);
    }
    Figure figure = submit(client, requests, level, count);
    // The jobs submitted run after their acknowledgement: let them end before the next figure.
    awaitIdle(client);
    return figure;
  }

  /**
   * Submits {@code count} jobs by the SubmitJob rpc from {@code level} platform threads, each
   * submitting its next job once the last one's acceptance is answered, and times each submission
   * until its answer. The blocking stub waits on the submitting thread itself (gRPC's threadless
   * executor), so a submission costs the client one wake-up, for {@code memory:} as for a store.
   */
  private Figure submit(OffloadClient client, List<SubmitJobRequest> requests, int level, int count) throws InterruptedException {
    long[] latency = new long[count];
    AtomicInteger nextIndex = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    Runnable submitter = () -> {
      boolean first = true;
      for (int i = nextIndex.getAndIncrement(); i < count; i = nextIndex.getAndIncrement()) {
        if (!first && pause.isPositive()) {
          try {
            Thread.sleep(pause);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        first = false;
        long start = System.nanoTime();
        try {
          client.wire().submit(requests.get(i % requests.size()));
        } catch (StatusRuntimeException e) {
          failures.incrementAndGet();
          firstFailure.compareAndSet(null, e.getStatus().getCode() + ": " + e.getStatus().getDescription());
        }
        latency[i] = System.nanoTime() - start;
      }
    };
    List<Thread> threads = new ArrayList<>();
    long start = System.nanoTime();
    for (int t = 0; t < Math.min(level, count); t++) {
      threads.add(Thread.ofPlatform().name("offload-bench-submit-" + t).start(submitter));
    }
    for (Thread t : threads) {
      t.join();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (failures.get() > 0) {
      throw new CliException(ExitCodes.FAILED, failures.get() + " of " + count + " submissions were refused; the first: " + firstFailure.get());
    }
    Arrays.sort(latency);
    return new Figure(level, count, seconds, percentile(latency, 50), percentile(latency, 90), percentile(latency, 99));
  }

  /** Waits until the service has no job queued or running, polling its status (bounded). */
  private void awaitIdle(OffloadClient client) throws InterruptedException {
    long deadline = System.nanoTime() + DRAIN_LIMIT_NANOS;
    while (true) {
      GetPoolStatusResponse status = client.wire().poolStatus();
      long busy = Math.max(status.getQueueDepth(), status.getJobsByStateOrDefault(JobState.QUEUED.name(), 0))
          + status.getJobsByStateOrDefault(JobState.RUNNING.name(), 0);
      if (busy == 0) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new CliException(ExitCodes.FAILED, "--submit-only: the service still had " + busy + " jobs queued or running "
            + TimeUnit.NANOSECONDS.toMinutes(DRAIN_LIMIT_NANOS) + " minutes after the last submission; are other clients"
            + " submitting to it? Measure on a service of its own");
      }
      Thread.sleep(20); // polled: the service tells no one when it falls idle
    }
  }

  /**
   * Runs {@code count} jobs with {@code level} of them in flight. Each result's callback sends the
   * next job, on the connection's I/O thread, as an asynchronous caller does ({@code thenCompose}):
   * the figures are the service's, not those of a thread waking to send. With {@code --pause}, the
   * callback leaves the next send to a timer thread instead, that long after the result.
   */
  private Figure run(OffloadClient client, List<SubmitJobRequest> requests, int level, int count) throws InterruptedException {
    if (!pause.isPositive()) {
      return run(client, requests, level, count, Runnable::run);
    }
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("offload-bench-pause").daemon(true).factory());
    try {
      long pauseNanos = pause.toNanos();
      return run(client, requests, level, count, send -> timer.schedule(send, pauseNanos, TimeUnit.NANOSECONDS));
    } finally {
      timer.shutdownNow(); // the level is over: the sends still scheduled have no job left to send
    }
  }

  /** As above; {@code next} runs each send that a result calls for (at once, or after the pause). */
  private Figure run(OffloadClient client, List<SubmitJobRequest> requests, int level, int count, Consumer<Runnable> next)
      throws InterruptedException {
    long[] sentAt = new long[count];
    long[] latency = new long[count];
    AtomicInteger failures = new AtomicInteger();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    AtomicInteger nextIndex = new AtomicInteger();
    AtomicInteger sent = new AtomicInteger();
    AtomicReference<BatchCall> call = new AtomicReference<>();
    AtomicReference<String> unsent = new AtomicReference<>();
    Runnable sendNext = () -> {
      int i = nextIndex.getAndIncrement();
      if (i >= count) {
        return;
      }
      sentAt[i] = System.nanoTime();
      try {
        call.get().send(Integer.toString(i), requests.get(i % requests.size()));
      } catch (RuntimeException e) {
        // On a result's thread or the pause's timer nobody else would see it: end the call, and say why after it.
        unsent.compareAndSet(null, "job " + i + " could not be sent: " + e.getMessage());
        call.get().cancel(unsent.get());
        return;
      }
      if (sent.incrementAndGet() == count) {
        call.get().finish(); // after the last send has returned, whichever thread made it
      }
    };
    // No window slots are taken: the first sends put `level` jobs in flight, and each result sends
    // exactly one more, so the level holds by construction.
    call.set(client.wire().batch(level, (BatchResult result) -> {
      int i = Integer.parseInt(result.getKey());
      latency[i] = System.nanoTime() - sentAt[i];
      if (!result.hasJob() || result.getJob().getState() != JobState.SUCCEEDED) {
        failures.incrementAndGet();
        firstFailure.compareAndSet(null, result.toString());
      }
      next.accept(sendNext);
    }));
    long start = System.nanoTime();
    for (int i = 0; i < Math.min(level, count); i++) {
      sendNext.run();
    }
    try {
      call.get().await();
    } catch (StatusRuntimeException e) {
      if (unsent.get() != null) {
        throw new CliException(ExitCodes.FAILED, unsent.get());
      }
      throw e;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (failures.get() > 0) {
      throw new CliException(ExitCodes.FAILED, failures.get() + " of " + count + " jobs did not succeed; the first: " + firstFailure.get());
    }
    Arrays.sort(latency);
    return new Figure(level, count, seconds, percentile(latency, 50), percentile(latency, 90), percentile(latency, 99));
  }

  /** The jobs to send in turn: the one of --input, or one per line of --input-file. */
  private List<SubmitJobRequest> requests() {
    if (inputFile == null) {
      return List.of(request(input));
    }
    if (spec.commandLine().getParseResult().hasMatchedOption("--input")) {
      throw new ParameterException(spec.commandLine(), "give --input or --input-file, not both");
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(inputFile);
    } catch (IOException e) {
      throw new ParameterException(spec.commandLine(), "cannot read --input-file " + inputFile + ": " + e);
    }
    List<SubmitJobRequest> requests = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty()) {
        continue;
      }
      try {
        Json.parse(line);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(),
            "line " + (i + 1) + " of " + inputFile + " is not a JSON value (" + e.getMessage() + "); put one input per line");
      }
      requests.add(request(line));
    }
    if (requests.isEmpty()) {
      throw new ParameterException(spec.commandLine(), inputFile + " holds no input: put one JSON value per line");
    }
    return requests;
  }

  private SubmitJobRequest request(String inputJson) {
    return SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(inputJson).build();
  }

  private static long percentile(long[] sortedNanos, int p) {
    int index = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
    return sortedNanos[Math.max(0, index)] / 1000;
  }

  private int report(String target, int workerCount, List<Figure> figures) {
    var out = spec.commandLine().getOut();
    if (json) {
      ObjectNode root = Json.object();
      root.put("target", target);
      root.put("workers", workerCount);
      root.put("submit_only", submitOnly);
      root.put("pause_ms", pause.toMillis());
      ArrayNode results = root.putArray("results");
      for (Figure f : figures) {
        results.addObject()
            .put("handler", handler)
            .put("in_flight", f.inFlight())
            .put("jobs", f.jobs())
            .put("seconds", f.seconds())
            .put("jobs_per_s", f.jobsPerSecond())
            .put("p50_us", f.p50Micros())
            .put("p90_us", f.p90Micros())
            .put("p99_us", f.p99Micros());
      }
      out.println(JobJson.pretty(root));
    } else {
      out.printf("%s jobs on %s, %d workers%s%n", handler, target, workerCount,
          (submitOnly ? "; latency from submit to acknowledgement (--submit-only)" : "")
              + (pause.isPositive() ? "; each next job sent " + pause.toMillis() + " ms after " + (submitOnly ? "an answer" : "a result")
                  + " (--pause)" : ""));
      Table table = new Table("IN-FLIGHT", "JOBS", "JOBS/S", "P50", "P90", "P99");
      for (Figure f : figures) {
        table.row(f.inFlight(), f.jobs(), String.format("%.0f", f.jobsPerSecond()),
            f.p50Micros() + "µs", f.p90Micros() + "µs", f.p99Micros() + "µs");
      }
      table.print(out);
    }
    out.flush();
    return ExitCodes.OK;
  }
}
