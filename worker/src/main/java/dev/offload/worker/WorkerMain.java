package dev.offload.worker;

import dev.offload.wire.UnixSockets;
import dev.offload.wire.PoolDirectory;
import dev.offload.wire.Handshake;
import dev.offload.wire.PluginJars;
import dev.offload.wire.WorkerLaunch;
import ch.qos.logback.classic.Level;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.offload.proto.v1.ExecuteJob;
import dev.offload.proto.v1.ExecuteJobs;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.JobResults;
import dev.offload.proto.v1.SupervisorMessage;
import dev.offload.proto.v1.WorkerMessage;
import dev.offload.sdk.Json;
import io.grpc.Server;
import io.netty.channel.EventLoopGroup;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry point of a worker JVM. A supervisor starts it with:
 *
 * <ul>
 *   <li>{@code -Doffload.worker.socket=PATH}: the Unix socket to serve on, in a directory only
 *       the supervisor's user can enter; only the process that started the worker, its parent,
 *       may connect (see {@link SupervisorGate});
 *   <li>{@code -Doffload.worker.testHandlers=true}: offer the test-only handlers too;
 *   <li>{@code -Doffload.worker.handlers=JAR:JAR...}: plugin jars whose handlers it offers as well
 *       (see {@link PluginJars});
 *   <li>{@code -Dslf4j.provider=}{@value WorkerLaunch#LOGGING_PROVIDER}: SLF4J logs into Logback, which
 *       the worker sets up, whatever other backend its class path holds; without Logback it
 *       refuses to start;
 *   <li>the environment variable {@value Handshake#NONCE_ENV}: the nonce of its ready line;
 *   <li>standard input: a pipe the supervisor holds open. Its end of file means the supervisor is
 *       gone, however it died (even SIGKILL), and the worker then exits at once.
 * </ul>
 *
 * <p>Standard error is the worker's log. Exit status {@value WorkerLaunch#EXIT_CANNOT_START} means it refused
 * to start, and the last line of its log that begins with {@value WorkerLaunch#REFUSAL} says why: a plugin jar
 * that cannot be read or fails to load, two handlers with one name, a socket it cannot serve on.
 */
public final class WorkerMain {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerMain.class);

  /**
   * The most an exiting worker waits to see its supervisor gone and its siblings exited before it
   * leaves their directory to them.
   */
  private static final Duration SIBLINGS_EXIT_WAIT = Duration.ofSeconds(1);

  private WorkerMain() {}

  /**
   * Runs a worker: serves its supervisor on the socket named by the system properties its launch
   * sets (see {@link dev.offload.wire.WorkerLaunch}) until the supervisor ends it or is gone.
   *
   * @param args none
   * @throws Exception if the worker cannot start; the supervisor reads why from its log
   */
  public static void main(String[] args) throws Exception {
    // From here on, only the handshake may use the real standard output; System.out is the log.
    PrintStream handshake = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    LogEnd logEnd = LogEnd.watchStderr();
    System.setOut(System.err);
    try {
      // Before any Logback class is touched: a class path without Logback must end in this message.
      LogbackBinding.require();
    } catch (IllegalStateException e) {
      refuse(e.getMessage());
      return;
    }
    configureLogging();

    Path socket = Path.of(required("offload.worker.socket"));
    String nonce = Optional.ofNullable(System.getenv(Handshake.NONCE_ENV)).orElse("");
    Optional<ProcessHandle> supervisor = ProcessHandle.current().parent();
    if (supervisor.isEmpty()) {
      refuse("the process that started it is gone already; workers are started by a supervisor");
      return;
    }
    HandlerRegistry registry;
    try {
      ClassLoader handlers = handlerClassLoader();
      // The job thread, started later from this one, inherits it as its context class loader, which
      // libraries that look up classes or services of their own (as plugins may bring) rely on.
      Thread.currentThread().setContextClassLoader(handlers);
      registry = HandlerRegistry.load(handlers, Boolean.getBoolean("offload.worker.testHandlers"));
    } catch (IllegalArgumentException | IllegalStateException e) {
      refuse(e.getMessage());
      return;
    }

    EventLoopGroup group = UnixSockets.newEventLoopGroup(1, "offload-worker-io");
    long maxOutputBytes = Long.parseLong(required(WorkerLaunch.MAX_OUTPUT_PROPERTY));
    WorkerService service = new WorkerService(registry, maxOutputBytes, logEnd, group.next(), new WorkerService.StreamEnd() {
      @Override
      public void closed() {
        exit(socket, "its supervisor closed the stream", false);
      }

      @Override
      public void broken() {
        exit(socket, "its supervisor's stream broke", true);
      }
    });
    // Only the supervisor that started this worker gets in, and it enforces the input limit; a
    // batch of jobs with large inputs can be larger than gRPC's default of 4 MiB.
    Server server = UnixSockets.serverBuilder(socket, group)
        .channelFactory(new SupervisorGate(supervisor.get().pid())::newServerChannel)
        .directExecutor()
        .maxInboundMessageSize(Integer.MAX_VALUE)
        .addService(service)
        .build();
    try {
      server.start();
    } catch (IOException e) {
      refuse("cannot serve on " + socket + ": " + e.getMessage());
      return;
    }

    watchSupervisor(socket, supervisor.get());
    handshake.println(Handshake.readyLine(nonce, ProcessHandle.current().pid()));
    handshake.close();
    warmUp();
    server.awaitTermination();
  }

  /**
   * Everything to stderr, which the supervisor keeps as this worker's log: offload's lines and the
   * jobs' ({@code JobContext.logger()}: {@code offload.job.ID}) at the service's level, the
   * libraries' warnings.
   */
  private static void configureLogging() {
    Level level = Level.toLevel(System.getProperty(WorkerLaunch.LOG_LEVEL_PROPERTY), Level.INFO);
    LogSetup.toStderr("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36}: %msg%n", Level.INFO, Map.of(
        "dev.offload", level,
        "offload.job", level,
        "io.netty", Level.WARN,
        "io.grpc", Level.WARN));
  }

  /** The class loader of the built-in handlers, with the plugin jars' on top if there are any. */
  private static ClassLoader handlerClassLoader() {
    ClassLoader own = WorkerMain.class.getClassLoader();
    List<Path> jars = PluginJars.expand(PluginJars.parse(System.getProperty(PluginJars.PROPERTY)));
    return jars.isEmpty() ? own : PluginJars.classLoader(jars, own);
  }

  /**
   * Initializes what every job touches: the JSON codec (Jackson's first use costs a few hundred
   * milliseconds) and the protocol's messages. It runs right after the ready line, while the
   * supervisor connects and the first job is on its way, so neither the pool's start nor a fresh
   * worker's first job waits for all of it (a job that comes sooner shares the class
   * initialization under way rather than repeating it) — which matters most when workers are
   * replaced often.
   */
  private static void warmUp() {
    Json.write(Json.parse("{\"warm\": [1, 2.5, \"up\", true, null, {\"n\": 9999999999999917}]}"));
    try {
      SupervisorMessage.parseFrom(SupervisorMessage.newBuilder()
          .setExecute(ExecuteJobs.newBuilder()
              .addJobs(ExecuteJob.newBuilder().setJobId("warm-up").setHandler("echo").setInputJson("1")))
          .build().toByteArray());
      WorkerMessage.parseFrom(WorkerMessage.newBuilder()
          .setResults(JobResults.newBuilder()
              .addResults(JobResult.newBuilder().setJobId("warm-up").setOutputJson("1")))
          .build().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("the worker protocol's own messages do not parse", e);
    }
  }

  /** Exits as soon as the supervisor's end of the stdin pipe closes, or the supervisor process ends. */
  private static void watchSupervisor(Path socket, ProcessHandle supervisor) {
    Thread.ofPlatform()
        .daemon(true)
        .name("offload-supervisor-watch")
        .start(
            () -> {
              try (InputStream in = System.in) {
                while (in.read() >= 0) {
                  // The supervisor writes nothing; only end of file matters.
                }
              } catch (IOException ignored) {
                // A broken pipe says the same as end of file.
              }
              exit(socket, "its supervisor is gone (stdin closed)", true);
            });
    supervisor.onExit().thenRun(() -> exit(socket, "its supervisor process ended", true));
  }

  /**
   * Ends this worker now. It halts rather than exits: a running job that ignores interrupts must
   * not delay it, and the supervisor that could want its result is gone.
   *
   * @param supervisorDied the supervisor process may be gone, not only this worker's stream: then
   *     nobody else may remove the socket's directory, the pool's own (a supervisor killed with
   *     SIGKILL runs no clean-up), so the last worker out removes it, with what killed siblings
   *     left in it, once it sees the supervisor gone (see {@link PoolDirectory#removeIfAbandoned}).
   *     A live supervisor may be starting a replacement there. Whichever way the supervisor's
   *     death is learned first (stdin, the parent's exit, the stream), each does all of this.
   */
  private static void exit(Path socket, String why, boolean supervisorDied) {
    LOG.info("worker " + ProcessHandle.current().pid() + " exits: " + why);
    try {
      Files.deleteIfExists(socket);
    } catch (IOException ignored) {
      // Gone already; else the supervisor, or the last worker out, removes it.
    }
    if (supervisorDied) {
      PoolDirectory.removeIfAbandoned(socket.getParent(), SIBLINGS_EXIT_WAIT);
    }
    Runtime.getRuntime().halt(0);
  }

  /** Says why in the log and exits with {@link WorkerLaunch#EXIT_CANNOT_START}; the supervisor quotes it. */
  private static void refuse(String reason) {
    System.err.println(WorkerLaunch.REFUSAL + reason);
    System.exit(WorkerLaunch.EXIT_CANNOT_START);
  }

  private static String required(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      refuse("-D" + property + " is required; workers are started by a supervisor");
    }
    return value;
  }
}
