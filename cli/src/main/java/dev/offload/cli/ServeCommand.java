package dev.offload.cli;

import dev.offload.supervisor.metrics.MetricsEndpoint;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.security.PasswordFile;
import dev.offload.supervisor.security.ServerSecurity;
import dev.offload.supervisor.security.TokenFile;
import dev.offload.supervisor.server.Limits;
import dev.offload.supervisor.server.OffloadServer;
import dev.offload.client.ServerTarget;
import dev.offload.supervisor.server.Supervisor;
import dev.offload.supervisor.server.SupervisorConfig;
import dev.offload.supervisor.server.UnsafeDirectoryException;
import dev.offload.supervisor.store.ClusterMember;
import dev.offload.supervisor.store.Durability;
import dev.offload.supervisor.store.StoreException;
import dev.offload.supervisor.store.StoreUrl;
import java.util.Locale;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.LongSupplier;
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

  @Option(names = "--listen", paramLabel = "TARGET", description = "unix:PATH, or HOST:PORT: loopback, or any address with --token-file (default: $OFFLOAD_SERVER, else the per-user Unix socket).")
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

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
      description = "How much offload logs, on stderr and in the state dir, and in workers' logs: error, warn, info, debug"
          + " (a line per job transition), trace (default: ${DEFAULT-VALUE}).")
  Logging.LogLevel logLevel;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "Where the service keeps its job store (jobs.db), its log (offload.log, rotated) and its workers' logs"
          + " (workers/, the newest 50) (default: $XDG_STATE_HOME/offload, else ~/.local/state/offload).")
  Path stateDir;

  @Option(names = "--store", paramLabel = "URL",
      description = "Where jobs are recorded so that they outlive the service: sqlite:PATH (a SQLite file),"
          + " postgresql://[USER@]HOST[:PORT]/DB (a database that several services share: one cluster, one queue) or memory:"
          + " (nothing kept, as a private pool does) (default: sqlite:STATE_DIR/jobs.db).")
  String store;

  @Option(names = "--store-password-file", paramLabel = "FILE",
      description = "The PostgreSQL store's password: the first line of FILE, which must be private (chmod 600). Without it,"
          + " $PGPASSWORD; never in the URL, where the process list would show it.")
  Path storePasswordFile;

  @Option(names = "--name", paramLabel = "NAME",
      description = "This service's name in its cluster, shown by stats (default: hostname:pid).")
  String name;

  @Option(names = "--lease", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
      description = "With a PostgreSQL store: how long this service counts as alive after each heartbeat (it renews every"
          + " third of it); once it expires, another service takes over its jobs (default: ${DEFAULT-VALUE}).")
  Duration lease;

  @Option(names = "--durability", paramLabel = "LEVEL", defaultValue = "process",
      description = "What an accepted job survives: process (any crash of the service: each commit reaches the OS before the"
          + " job is acknowledged) or machine (also a power loss or OS crash: each group commit is fsynced first)"
          + " (default: ${DEFAULT-VALUE}).")
  String durability;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "Require this token (the file's first line; the file must be private) on every call; needed to listen on an address other than loopback.")
  Path tokenFile;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "Serve TCP over TLS with this PEM certificate chain (with --tls-key).")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "The PEM private key of --tls-cert.")
  Path tlsKey;

  @Option(names = "--metrics", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics at http://HOST:PORT/metrics (a loopback address; port 0 picks a free one).")
  String metricsAddress;

  @Option(names = "--health", paramLabel = "HOST:PORT",
      description = "Also answer gRPC health checks (grpc.health.v1.Health, nothing else) on HOST:PORT, in plaintext and without"
          + " a token: for probes that can do neither, such as a Kubernetes grpc probe of a service with --tls-cert. Any address"
          + " (the answer is only SERVING or NOT_SERVING).")
  String healthAddress;

  @Option(names = "--max-request-size", paramLabel = "SIZE", defaultValue = "5m", converter = SizeConverter.class,
      description = "The largest message a client may send; larger ones are refused with RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE}).")
  long maxRequestSize;

  @Option(names = "--max-input-size", paramLabel = "SIZE", defaultValue = "4m", converter = SizeConverter.class,
      description = "The largest input JSON of a job; larger ones are refused as invalid (default: ${DEFAULT-VALUE}).")
  long maxInputSize;

  @Option(names = "--max-output-size", paramLabel = "SIZE", defaultValue = "16m", converter = SizeConverter.class,
      description = "The most output JSON a job may produce; a job that produces more ends FAILED with OUTPUT_TOO_LARGE (default: ${DEFAULT-VALUE}).")
  long maxOutputSize;

  @Option(names = "--keep-finished", paramLabel = "N", defaultValue = "10000",
      description = "Finished jobs kept for status and result; older ones expire, oldest first (default: ${DEFAULT-VALUE}).")
  int keepFinished;

  @Option(names = "--finished-memory", paramLabel = "SIZE", converter = SizeConverter.class,
      description = "The most memory finished jobs' inputs, outputs and error messages may hold (UTF-8 bytes, or the whole heap regions of a large one); past it the oldest"
          + " ones' are dropped and their records kept (default: a quarter of the service's heap).")
  Long finishedMemory;

  @Option(names = "--pending-memory", paramLabel = "SIZE", converter = SizeConverter.class,
      description = "The most memory the inputs of jobs accepted and not yet ended (queued or running) may hold (UTF-8 bytes, or the whole heap regions of a large one);"
          + " past it submissions are refused with RESOURCE_EXHAUSTED and batch streams wait (default: an eighth of the service's heap).")
  Long pendingMemory;

  @Option(names = "--max-retries", paramLabel = "N", defaultValue = "" + Limits.DEFAULT_MAX_RETRIES,
      description = "The most retries a job may ask for; more are refused as invalid (default: ${DEFAULT-VALUE}).")
  int maxRetries;

  @Option(names = "--max-watchers-per-job", paramLabel = "N", defaultValue = "100",
      description = "Streams that may follow one job at once (run, watch, batch); more are refused with RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE}).")
  int maxWatchersPerJob;

  @Option(names = "--max-streams", paramLabel = "N", defaultValue = "1000",
      description = "Streaming calls open at once across all clients; more are refused with RESOURCE_EXHAUSTED (default: ${DEFAULT-VALUE}).")
  int maxStreams;

  @Option(names = "--enable-test-handlers", description = "Offer the test-only handlers (crash).")
  boolean testHandlers;

  @Option(names = "--handlers", paramLabel = "PATH", converter = HandlerJarConverter.class,
      description = "A plugin jar of handlers for every worker, or a directory whose *.jar files are all taken; repeatable.")
  List<Path> handlerJars = new ArrayList<>();

  @Override
  public Integer call() throws InterruptedException {
    validate();
    StoreUrl storeUrl = storeUrl();
    Durability durabilityLevel = durability();
    ServerTarget target = listen == null ? ServerTarget.defaultTarget() : parse(listen);
    InetSocketAddress metricsAt = metricsAddress == null ? null : metricsAddress();
    InetSocketAddress healthAt = healthAddress == null ? null : healthAddress();
    ServerSecurity security = security();
    ClusterMember member = member(storeUrl, target);
    if (target instanceof ServerTarget.Tcp tcp && !isLoopback(tcp.host()) && security.token() == null) {
      throw new ParameterException(spec.commandLine(), "--listen " + tcp + " is not a loopback address, so other machines could"
          + " send jobs: give the service a token with --token-file (and a certificate with --tls-cert and --tls-key)");
    }
    try {
      OffloadServer.checkTarget(target); // before the workers: a refusal costs no JVM start
    } catch (UnsafeDirectoryException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage());
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, e.getMessage());
    }
    // Only once every option is known good (and the socket's private directory made): a refused
    // command line leaves no state dir and starts no JVM.
    Path state = StateDir.prepare(stateDir == null ? StateDir.defaultPath() : stateDir);
    LongSupplier logWriteFailures = Logging.forService(logLevel, state.resolve("offload.log"), spec.commandLine().getErr());
    SupervisorConfig config = config(state).withStore(storeUrl == null ? new StoreUrl.Sqlite(state.resolve("jobs.db")) : storeUrl,
        durabilityLevel).withMember(member);
    Supervisor supervisor;
    try {
      supervisor = Supervisor.start(config);
    } catch (WorkerStartException e) {
      throw new CliException(ExitCodes.FAILED, "the worker pool did not start: " + e.getMessage());
    } catch (StoreException e) {
      throw new CliException(ExitCodes.FAILED, e.getMessage());
    }
    supervisor.metrics().countLogWriteFailures(logWriteFailures);
    OffloadServer server = null;
    MetricsEndpoint metrics = null;
    int healthPort = 0;
    try {
      server = OffloadServer.start(target, supervisor, security);
      if (healthAt != null) {
        healthPort = server.serveHealthOnly(healthAt);
      }
      if (metricsAt != null) {
        metrics = MetricsEndpoint.start(metricsAt, supervisor.metrics());
      }
    } catch (IOException e) {
      supervisor.shutdown(Duration.ZERO).join();
      if (server != null) {
        server.shutdown();
        server.awaitTermination(SERVER_STOP_LIMIT);
      }
      throw new CliException(ExitCodes.FAILED, e.getMessage());
    }
    Signals.handle(
        () -> supervisor.shutdown(null),
        () -> {
          spec.commandLine().getErr().println("offload: second signal: stopping now (running jobs cancelled, their workers killed)");
          spec.commandLine().getErr().flush();
          supervisor.shutdownNow();
        },
        "INT", "TERM");
    var err = spec.commandLine().getErr();
    err.printf("offload: serving on %s with %d workers (pids %s)%n", target, config.pool().workers(),
        supervisor.workerPids().stream().map(String::valueOf).collect(Collectors.joining(", ")));
    err.printf("offload: jobs recorded in %s%s%n", StoreUrl.redact(supervisor.store().url()),
        supervisor.store().recordsNothing() ? " (nothing is kept: jobs end with the service)"
            : " (durability " + durabilityLevel.name().toLowerCase(Locale.ROOT) + ")");
    if (metrics != null) {
      err.printf("offload: metrics on http://%s:%d/metrics%n", metricsAt.getHostString(), metrics.port());
    }
    if (healthAt != null) {
      err.printf("offload: health checks (plaintext, no token) on %s:%d%n", healthAt.getHostString(), healthPort);
    }
    if (target instanceof ServerTarget.Tcp tcp && !security.tls() && !isLoopback(tcp.host())) {
      err.println("offload: WARNING: serving " + tcp + " without TLS: the token and every job's input and output cross the"
          + " network in clear; give the service a certificate with --tls-cert and --tls-key");
    }
    err.flush();

    supervisor.terminated().join();
    if (metrics != null) {
      metrics.close();
    }
    server.shutdown();
    server.awaitTermination(SERVER_STOP_LIMIT);
    err.println("offload: stopped");
    err.flush();
    return ExitCodes.OK;
  }

  private SupervisorConfig config(Path state) {
    PoolConfig defaults = PoolConfig.defaults();
    List<String> workerOptions = new ArrayList<>(defaults.jvmOptions());
    workerOptions.add("-Doffload.log.level=" + logLevel.name());
    PoolConfig.Builder pool = defaults.toBuilder()
        .logDir(state.resolve("workers"))
        .jvmOptions(workerOptions)
        .testHandlers(testHandlers)
        .handlerJars(handlerJars)
        .cancelGrace(cancelGrace)
        .workerHeap(workerHeap)
        .maxJobsPerWorker(maxJobsPerWorker)
        .maxWorkerRssBytes(maxWorkerRss == null ? 0 : maxWorkerRss)
        .maxOutputBytes(maxOutputSize);
    if (workers != null) {
      pool.workers(workers);
    }
    return SupervisorConfig.defaults()
        .withPool(pool.build())
        .withMaxQueue(maxQueue)
        .withJobTimeout(jobTimeout == null ? Duration.ZERO : jobTimeout)
        .withShutdownGrace(shutdownGrace)
        .withKeepFinished(keepFinished)
        .withFinishedMemoryBytes(finishedMemory == null ? SupervisorConfig.defaultFinishedMemoryBytes() : finishedMemory)
        .withLimits(limits());
  }

  /** How this service takes part in a cluster; its password only for a PostgreSQL store. */
  private ClusterMember member(StoreUrl storeUrl, ServerTarget target) {
    String password = null;
    if (storeUrl instanceof StoreUrl.Postgresql) {
      password = storePasswordFile != null ? storePassword() : System.getenv("PGPASSWORD");
    }
    return new ClusterMember(name == null ? SupervisorConfig.defaultServiceName() : name, reachableAt(target),
        workers == null ? PoolConfig.defaults().workers() : workers, password, lease);
  }

  /**
   * Where other machines reach this service, for the cluster's {@code stats}: a wildcard address
   * (0.0.0.0, ::) is no address at all there, so this host's name stands for it.
   */
  private static String reachableAt(ServerTarget target) {
    if (target instanceof ServerTarget.Tcp tcp && (tcp.host().equals("0.0.0.0") || tcp.host().equals("::")
        || tcp.host().equals("[::]"))) {
      return SupervisorConfig.hostName() + ":" + tcp.port();
    }
    return target.toString();
  }

  private String storePassword() {
    try {
      return PasswordFile.read(storePasswordFile);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--store-password-file: " + e.getMessage());
    }
  }

  private StoreUrl storeUrl() {
    if (store == null) {
      return null;
    }
    try {
      return StoreUrl.parse(store);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--store: " + e.getMessage());
    }
  }

  private Durability durability() {
    return switch (durability) {
      case "process" -> Durability.PROCESS;
      case "machine" -> Durability.MACHINE;
      default -> throw new ParameterException(spec.commandLine(), "--durability takes process (survives any crash of the service)"
          + " or machine (also a power loss or OS crash), got '" + durability + "'");
    };
  }

  private Limits limits() {
    if (pendingMemory != null && pendingMemory < 1) {
      throw new ParameterException(spec.commandLine(), "--pending-memory must be at least 1 byte, got " + pendingMemory
          + "; give a size such as 256m (a job whose input is larger still runs when no other job holds any)");
    }
    try {
      return new Limits((int) maxRequestSize, (int) maxInputSize, maxWatchersPerJob, maxStreams, maxRetries,
          pendingMemory == null ? Limits.defaultMaxPendingBytes() : pendingMemory);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage().replace("the request size limit", "--max-request-size")
          .replace("the input size limit", "--max-input-size") + "; raise --max-request-size with --max-input-size");
    }
  }

  /** The shortest --lease: renewed every third, with a second's margin for the renewal itself. */
  private static final Duration MIN_LEASE = Duration.ofSeconds(3);

  private void validate() {
    requireMessageSize("--max-request-size", maxRequestSize);
    requireMessageSize("--max-input-size", maxInputSize);
    if (maxOutputSize < 1) {
      throw new ParameterException(spec.commandLine(), "--max-output-size must be at least 1 byte");
    }
    if (keepFinished < 0 || maxWatchersPerJob < 1 || maxStreams < 1) {
      throw new ParameterException(spec.commandLine(), "--keep-finished must be 0 or more, and --max-watchers-per-job and --max-streams 1 or more");
    }
    if (maxRetries < 0) {
      throw new ParameterException(spec.commandLine(), "--max-retries must be 0 or more, got " + maxRetries);
    }
    if (workers != null && workers < 1) {
      throw new ParameterException(spec.commandLine(), "--workers must be 1 or more, got " + workers);
    }
    if (maxJobsPerWorker < 0) {
      throw new ParameterException(spec.commandLine(), "--max-jobs-per-worker must be 0 (never) or more, got " + maxJobsPerWorker);
    }
    if (maxQueue < 1) {
      throw new ParameterException(spec.commandLine(), "--max-queue must be 1 or more, got " + maxQueue);
    }
    if (lease.compareTo(MIN_LEASE) < 0) {
      throw new ParameterException(spec.commandLine(), "--lease must be at least " + MIN_LEASE.toSeconds() + "s (the service renews it"
          + " every third, and a renewal may take a second), got " + lease.toMillis() + " ms");
    }
    if (storePasswordFile != null && !(storeUrl() instanceof StoreUrl.Postgresql)) {
      throw new ParameterException(spec.commandLine(), "--store-password-file is for a PostgreSQL store; give --store"
          + " postgresql://[USER@]HOST[:PORT]/DB too, or leave it out");
    }
    if (workerHeap != null && !SizeConverter.FORM.matcher(workerHeap).matches()) {
      throw new ParameterException(spec.commandLine(), "--worker-heap takes a size such as 512m or 2g, got '" + workerHeap + "'");
    }
  }

  /** gRPC messages are at most 2 GiB less a byte. */
  private void requireMessageSize(String option, long bytes) {
    if (bytes < 1 || bytes > Integer.MAX_VALUE) {
      throw new ParameterException(spec.commandLine(), option + " must be from 1 byte to 2g less a byte, got " + bytes + " bytes");
    }
  }

  private ServerSecurity security() {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together: give both, or neither");
    }
    for (Path file : new Path[] {tlsCert, tlsKey}) {
      if (file != null && !Files.isReadable(file)) {
        throw new ParameterException(spec.commandLine(), "cannot read " + file + " (--tls-cert/--tls-key take PEM files)");
      }
    }
    try {
      return new ServerSecurity(tokenFile == null ? null : TokenFile.read(tokenFile, true), tlsCert, tlsKey);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--token-file: " + e.getMessage());
    }
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** --metrics as an address; only loopback, as the metrics have no authentication. */
  private InetSocketAddress metricsAddress() {
    ServerTarget parsed;
    try {
      parsed = ServerTarget.parse(metricsAddress);
    } catch (IllegalArgumentException e) {
      parsed = null;
    }
    if (!(parsed instanceof ServerTarget.Tcp tcp)) {
      throw new ParameterException(spec.commandLine(), "--metrics takes HOST:PORT, for example 127.0.0.1:9464; got '" + metricsAddress + "'");
    }
    InetSocketAddress address = new InetSocketAddress(tcp.host(), tcp.port());
    if (address.isUnresolved() || !address.getAddress().isLoopbackAddress()) {
      throw new ParameterException(spec.commandLine(), "--metrics must be a loopback address such as 127.0.0.1:9464 (the metrics"
          + " have no authentication); got '" + metricsAddress + "'. Let Prometheus scrape through a proxy or an SSH tunnel");
    }
    return address;
  }

  /** --health as an address: any address, as the health service says only whether the service serves. */
  private InetSocketAddress healthAddress() {
    ServerTarget parsed;
    try {
      parsed = ServerTarget.parse(healthAddress);
    } catch (IllegalArgumentException e) {
      parsed = null;
    }
    if (!(parsed instanceof ServerTarget.Tcp tcp)) {
      throw new ParameterException(spec.commandLine(), "--health takes HOST:PORT, for example 0.0.0.0:8081; got '" + healthAddress + "'");
    }
    InetSocketAddress address = new InetSocketAddress(tcp.host(), tcp.port());
    if (address.isUnresolved()) {
      throw new ParameterException(spec.commandLine(), "--health: cannot resolve the host of '" + healthAddress + "'; give an IP address"
          + " such as 0.0.0.0:8081");
    }
    return address;
  }

  private ServerTarget parse(String text) {
    try {
      return ServerTarget.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--listen: " + e.getMessage());
    }
  }
}
