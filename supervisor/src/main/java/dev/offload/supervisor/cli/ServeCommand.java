package dev.offload.supervisor.cli;

import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.server.OffloadServer;
import dev.offload.supervisor.server.ServerTarget;
import dev.offload.supervisor.server.Supervisor;
import dev.offload.supervisor.server.SupervisorConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code offload serve}: the supervisor and its pool, until shut down. */
@Command(name = "serve", description = "Start the service: a supervisor and its pool of worker JVMs, until shut down.")
final class ServeCommand implements Callable<Integer> {

  private static final Duration SERVER_STOP_LIMIT = Duration.ofSeconds(3);

  @Spec CommandSpec spec;

  @Option(names = "--workers", paramLabel = "N", description = "Worker JVMs to keep (default: one per core).")
  Integer workers;

  @Option(names = "--listen", paramLabel = "TARGET", description = "unix:PATH or 127.0.0.1:PORT (default: $OFFLOAD_SERVER, else the per-user Unix socket).")
  String listen;

  @Option(names = "--max-queue", paramLabel = "N", defaultValue = "10000", description = "Jobs that may wait for a worker; more are refused (default: ${DEFAULT-VALUE}).")
  int maxQueue;

  @Option(names = "--worker-heap", paramLabel = "SIZE", description = "Each worker's maximum heap, as for -Xmx: 512m, 2g.")
  String workerHeap;

  @Option(names = "--cancel-grace", paramLabel = "DURATION", defaultValue = "2s", converter = DurationConverter.class,
      description = "How long a cancelled job may take to stop before its worker is killed (default: ${DEFAULT-VALUE}).")
  Duration cancelGrace;

  @Option(names = "--job-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "Run-time limit of jobs that set none (default: none).")
  Duration jobTimeout;

  @Option(names = "--max-jobs-per-worker", paramLabel = "N", defaultValue = "0",
      description = "Replace a worker after it has run N jobs, without losing capacity (default: never).")
  long maxJobsPerWorker;

  @Option(names = "--max-worker-rss", paramLabel = "SIZE", converter = SizeConverter.class,
      description = "Replace a worker, between jobs, once its resident memory exceeds SIZE (512m, 2g; default: never).")
  Long maxWorkerRss;

  @Option(names = "--shutdown-grace", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
      description = "On SIGTERM or SIGINT, how long running jobs may take to finish before they are cancelled (default: ${DEFAULT-VALUE}).")
  Duration shutdownGrace;

  @Option(names = "--enable-test-handlers", description = "Offer the test-only handlers (crash).")
  boolean testHandlers;

  @Option(names = "--handlers", paramLabel = "PATH", converter = HandlerJarConverter.class,
      description = "A plugin jar of handlers for every worker, or a directory whose *.jar files are all taken; repeatable.")
  List<Path> handlerJars = new ArrayList<>();

  @Override
  public Integer call() throws InterruptedException {
    validate();
    Logging.verbose();
    ServerTarget target = listen == null ? ServerTarget.defaultTarget() : parse(listen);
    SupervisorConfig config = config();
    Supervisor supervisor;
    try {
      supervisor = Supervisor.start(config);
    } catch (WorkerStartException e) {
      throw new CliException(ExitCodes.FAILED, "the worker pool did not start: " + e.getMessage());
    }
    OffloadServer server;
    try {
      server = OffloadServer.start(target, supervisor);
    } catch (IOException e) {
      supervisor.shutdown(Duration.ZERO).join();
      throw new CliException(ExitCodes.FAILED, e.getMessage());
    }
    Signals.handle(
        () -> supervisor.shutdown(null),
        () -> {
          spec.commandLine().getErr().println("offload: second signal: stopping now");
          spec.commandLine().getErr().flush();
          supervisor.shutdown(Duration.ZERO);
        },
        "INT", "TERM");
    var err = spec.commandLine().getErr();
    err.printf("offload: serving on %s with %d workers (pids %s)%n", target, config.pool().workers(),
        supervisor.workerPids().stream().map(String::valueOf).collect(Collectors.joining(", ")));
    err.flush();

    supervisor.terminated().join();
    server.shutdown();
    server.awaitTermination(SERVER_STOP_LIMIT);
    err.println("offload: stopped");
    err.flush();
    return ExitCodes.OK;
  }

  private SupervisorConfig config() {
    PoolConfig.Builder pool = PoolConfig.defaults().toBuilder()
        .testHandlers(testHandlers)
        .handlerJars(handlerJars)
        .cancelGrace(cancelGrace)
        .workerHeap(workerHeap)
        .maxJobsPerWorker(maxJobsPerWorker)
        .maxWorkerRssBytes(maxWorkerRss == null ? 0 : maxWorkerRss);
    if (workers != null) {
      pool.workers(workers);
    }
    return SupervisorConfig.defaults()
        .withPool(pool.build())
        .withMaxQueue(maxQueue)
        .withJobTimeout(jobTimeout == null ? Duration.ZERO : jobTimeout)
        .withShutdownGrace(shutdownGrace);
  }

  private void validate() {
    if (workers != null && workers < 1) {
      throw new ParameterException(spec.commandLine(), "--workers must be 1 or more, got " + workers);
    }
    if (maxJobsPerWorker < 0) {
      throw new ParameterException(spec.commandLine(), "--max-jobs-per-worker must be 0 (never) or more, got " + maxJobsPerWorker);
    }
    if (maxQueue < 1) {
      throw new ParameterException(spec.commandLine(), "--max-queue must be 1 or more, got " + maxQueue);
    }
    if (workerHeap != null && !SizeConverter.FORM.matcher(workerHeap).matches()) {
      throw new ParameterException(spec.commandLine(), "--worker-heap takes a size such as 512m or 2g, got '" + workerHeap + "'");
    }
  }

  private ServerTarget parse(String text) {
    try {
      return ServerTarget.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--listen: " + e.getMessage());
    }
  }
}
