package dev.offload.cli;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.client.OffloadClient;
import dev.offload.supervisor.pool.PoolConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code offload run}: one job, waited for. With no service at the target it starts a private pool
 * of one worker for this command (the embedded default) and shuts it down afterwards.
 */
@Command(name = "run", description = "Run a job and wait for it; prints its output JSON. Starts a private pool if no service is running.")
final class RunCommand implements Callable<Integer> {

  /** How long Ctrl-C waits for the job's id (its first event) before giving up on cancelling. */
  private static final Duration ID_WAIT = Duration.ofSeconds(10);

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;
  @Mixin JobRequestOptions job;

  @Option(names = "--json", description = "Print the whole job record as JSON instead of its output.")
  boolean json;

  @Option(names = "--detach", description = "On Ctrl-C, SIGTERM or SIGHUP, leave the job running on the service instead of cancelling it.")
  boolean detach;

  @Option(names = "--handlers", paramLabel = "PATH", converter = HandlerJarConverter.class,
      description = "A plugin jar of handlers for the private pool, or a directory whose *.jar files are all taken; repeatable. "
          + "Not with a running service: its handlers are fixed by 'offload serve --handlers'.")
  List<Path> handlerJars = new ArrayList<>();

  @Override
  public Integer call() throws InterruptedException {
    SubmitJobRequest request = job.toRequest(System.in);
    if (!handlerJars.isEmpty() && OffloadClient.answers(server.target())) {
      throw new CliException(ExitCodes.USAGE, "--handlers is for a private pool, but a service answers at " + server.target()
          + "; its handlers were fixed when it started: give --handlers to 'offload serve' instead");
    }
    PoolConfig privatePool = PoolConfig.defaults().toBuilder().workers(1).handlerJars(handlerJars).build();
    try (ServiceConnection connection = ServiceConnection.open(server, privatePool, spec.commandLine().getErr())) {
      return run(connection.client(), request);
    }
  }

  private int run(OffloadClient client, SubmitJobRequest request) {
    CompletableFuture<String> jobId = new CompletableFuture<>();
    AtomicInteger stoppedBy = new AtomicInteger(); // the signal's number; 0 while none came
    Signals.handle(
        signal -> {
          stoppedBy.set(signal);
          if (detach) {
            Runtime.getRuntime().halt(ExitCodes.forSignal(signal));
          }
          // The job's id comes with its first event, which may still be on its way.
          Thread.ofVirtual().start(() -> {
            try {
              client.wire().cancel(jobId.get(ID_WAIT.toMillis(), TimeUnit.MILLISECONDS));
            } catch (Exception noJobToCancel) {
              Runtime.getRuntime().halt(ExitCodes.forSignal(signal));
            }
          });
        },
        signal -> Runtime.getRuntime().halt(ExitCodes.forSignal(signal)),
        Signals.STOPPING);
    Job end;
    try (JobProgressBar progress = new JobProgressBar(System.err)) {
      boolean showProgress = Boolean.getBoolean("offload.stderr.tty") && !json;
      end = client.wire().run(request, event -> {
        if (event.hasJob()) {
          jobId.complete(event.getJob().getId());
        } else if (showProgress) {
          progress.accept(event);
        }
      });
    }
    int code = JobPrinter.printEnded(end, json, spec.commandLine().getOut(), spec.commandLine().getErr());
    return stoppedBy.get() != 0 ? ExitCodes.forSignal(stoppedBy.get()) : code;
  }
}
