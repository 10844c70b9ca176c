package dev.offload.supervisor.pool;

import dev.offload.wire.Handshake;
import dev.offload.wire.WorkerLaunch;
import dev.offload.wire.PluginJars;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts worker JVMs: spawns the process with the pool's {@code java} and class path, and waits
 * (bounded by the start timeout) for its ready line. Blocks the calling thread, so it is called on
 * a virtual thread, never under a lock or on an I/O thread.
 */
public class WorkerLauncher {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerLauncher.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final PoolConfig config;
  private final Path runDir;
  /** Whether the last worker's log could not be created: then it was said once, not per worker. */
  private final AtomicBoolean logsFailing = new AtomicBoolean();
  /** The plugin jars, directories expanded; null until the first launch. Guarded by this. */
  private List<Path> handlerJars;
  /** The workers' class path; null until the first launch. Guarded by this. */
  private String classpath;

  /**
   * @param runDir a private (0700) directory for worker sockets and logs
   */
  public WorkerLauncher(PoolConfig config, Path runDir) {
    this.config = config;
    this.runDir = runDir;
  }

  /**
   * Starts a worker for a slot and returns it once it is ready, or throws saying why not.
   *
   * @param spawner starts the process: the pool's, which refuses once it is closing and keeps
   *     the process, before it is ready, where its close will end it
   */
  public WorkerProcess launch(int slot, int incarnation, Spawner spawner)
      throws WorkerStartException, InterruptedException {
    String name = "w" + slot + "-" + incarnation;
    Path socket = runDir.resolve(name + ".sock");
    WorkerLog log = openLog(name);
    String nonce = HexFormat.of().formatHex(RANDOM.generateSeed(16));

    ProcessBuilder builder = new ProcessBuilder(command(socket, handlerJars(), classpath()));
    builder.environment().put(Handshake.NONCE_ENV, nonce);
    builder.redirectError(log.isFile() ? ProcessBuilder.Redirect.to(log.path().toFile()) : ProcessBuilder.Redirect.INHERIT);
    Process process;
    try {
      process = spawner.spawn(builder);
    } catch (IOException e) {
      throw new WorkerStartException("cannot start a worker JVM with " + config.java() + ": " + e.getMessage());
    }
    // However the process ends (killed, crashed, refused to start, closed), its socket is of no
    // more use: the pool removes it then, as a worker killed with SIGKILL cannot.
    process.onExit().thenRun(() -> removeSocket(socket));
    try {
      awaitReady(process, nonce, log);
      return new WorkerProcess(slot, incarnation, process, socket, log);
    } catch (WorkerStartException | InterruptedException | RuntimeException e) {
      process.destroyForcibly();
      throw e;
    }
  }

  /** Starts a worker's process from its builder, or refuses to. */
  @FunctionalInterface
  public interface Spawner {
    Process spawn(ProcessBuilder builder) throws IOException, WorkerStartException;
  }

  private static void removeSocket(Path socket) {
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      LOG.warn("could not remove the socket " + socket + " of a worker that has ended: " + e.getMessage());
    }
  }

  /**
   * Creates the worker's log file, in the configured log directory (kept, pruned), else in the
   * pool's run directory. A worker matters more than its log: when the file cannot be created (a
   * disk out of space or inodes, a directory that is not one), the worker logs to the supervisor's
   * stderr instead, and the supervisor warns once, until a log can be created again.
   */
  private WorkerLog openLog(String name) {
    Path dir = config.logDir() == null ? runDir : config.logDir();
    try {
      Path path = config.logDir() == null ? runDir.resolve(name + ".log") : WorkerLogs.next(config.logDir(), name);
      Files.newByteChannel(path, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))).close();
      if (logsFailing.compareAndSet(true, false)) {
        LOG.info("worker logs are kept in " + dir + " again");
      }
      return new WorkerLog(path);
    } catch (IOException | UncheckedIOException e) {
      if (logsFailing.compareAndSet(false, true)) {
        LOG.warn("cannot create worker logs in " + dir + " (" + e.getMessage() + "): workers started from now on write"
            + " their logs here, to this process's stderr, until a log file can be created again; free space or inodes"
            + (config.logDir() == null ? " in " + dir.getParent() : " there, or make " + dir + " a writable directory (it is in --state-dir)"));
      }
      return WorkerLog.SUPERVISOR_STDERR;
    }
  }

  List<String> command(Path socket, List<Path> jars, String classpath) {
    List<String> command = new ArrayList<>();
    command.add(config.java().toString());
    if (config.workerHeap() != null) {
      command.add("-Xmx" + config.workerHeap());
    }
    command.add("-XX:+ExitOnOutOfMemoryError");
    // The VM says why it exits (out of memory, for one) on stdout unless told otherwise, and a
    // worker's stdout is the handshake pipe; stderr is its log, where the cause must be.
    command.add("-XX:+DisplayVMOutputToStderr");
    command.add("--enable-native-access=ALL-UNNAMED");
    command.addAll(config.jvmOptions());
    // A worker logs with Logback whatever else its class path holds (an embedding application's
    // may carry another SLF4J backend, found first); SLF4J's own notes would only say so per worker.
    command.add("-Dslf4j.provider=" + WorkerLaunch.LOGGING_PROVIDER);
    command.add("-Dslf4j.internal.verbosity=WARN");
    command.add("-Doffload.worker.socket=" + socket);
    command.add("-Doffload.worker.testHandlers=" + config.testHandlers());
    command.add("-D" + WorkerLaunch.MAX_OUTPUT_PROPERTY + "=" + config.maxOutputBytes());
    if (!jars.isEmpty()) {
      command.add("-D" + PluginJars.PROPERTY + "=" + PluginJars.format(jars));
    }
    command.add("-cp");
    command.add(classpath);
    command.add(WorkerLaunch.MAIN_CLASS);
    return command;
  }

  /**
   * The plugin jars workers load, checked and expanded at the first launch, before any worker is
   * spawned, and kept: a jar added to a directory later does not reach a replacement, so that every
   * worker of the pool offers the same handlers. The first launches of a pool, in parallel, all
   * need the list, so they wait here for the one that reads the disk; later ones only read it.
   */
  private synchronized List<Path> handlerJars() throws WorkerStartException {
    if (handlerJars == null) {
      try {
        handlerJars = PluginJars.expand(config.handlerJars());
        sayWhichJarsListNoHandlers(handlerJars);
      } catch (IllegalArgumentException e) {
        throw new WorkerStartException("plugin jars: " + e.getMessage());
      }
    }
    return handlerJars;
  }

  /**
   * The workers' class path: the pool's, or the worker distribution, extracted at the first launch
   * if need be (the first launches, in parallel, wait here for the one that does it).
   */
  private synchronized String classpath() throws WorkerStartException {
    if (classpath == null) {
      try {
        classpath = config.classpath() != null ? config.classpath() : WorkerDistribution.classpath();
      } catch (IllegalStateException | java.io.UncheckedIOException e) {
        throw new WorkerStartException(e.getMessage());
      }
    }
    return classpath;
  }

  /**
   * A jar without a services file loads silently and adds no handler. Beside jars that have
   * handlers it may well be their library, which is said, not warned of; when no jar lists any
   * handler, the services file is surely missing.
   */
  private static void sayWhichJarsListNoHandlers(List<Path> jars) {
    List<Path> without = PluginJars.withoutHandlers(jars);
    if (without.isEmpty()) {
      return;
    }
    if (without.size() == jars.size()) {
      LOG.warn((jars.size() == 1
              ? "the plugin jar " + jars.getFirst() + " lists no handler, so it adds none"
              : "none of the plugin jars " + jars.stream().map(Path::toString).collect(Collectors.joining(", ")) + " lists a handler, so they add none")
          + ": a plugin jar names its handler classes in " + PluginJars.SERVICES + " (see the README's Plugins section)");
    } else {
      without.forEach(jar -> LOG.info("the plugin jar " + jar + " lists no handler (it has no " + PluginJars.SERVICES
          + " naming one): it is loaded as a library of the other plugin jars' handlers"));
    }
  }

  private void awaitReady(Process process, String nonce, WorkerLog log)
      throws WorkerStartException, InterruptedException {
    CompletableFuture<Optional<Long>> ready = new CompletableFuture<>();
    Thread.ofVirtual().name("offload-handshake-" + process.pid()).start(() -> ready.complete(readReadyLine(process, nonce)));
    Optional<Long> pid;
    try {
      pid = ready.get(config.startTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new WorkerStartException(
          "worker pid " + process.pid() + " was not ready within " + config.startTimeout().toMillis() + " ms" + log.quote(10));
    } catch (ExecutionException e) {
      throw new IllegalStateException("the handshake reader failed", e.getCause());
    }
    if (pid.isEmpty()) {
      int status = process.waitFor();
      Optional<String> refusal = status == WorkerLaunch.EXIT_CANNOT_START ? refusal(log) : Optional.empty();
      if (refusal.isPresent()) {
        // The worker said why, in full; the rest of its log (gone with the pool) adds nothing.
        throw new WorkerStartException("worker pid " + process.pid() + " refused to start: " + refusal.get());
      }
      throw new WorkerStartException(
          "worker pid " + process.pid() + " " + ExitCause.of(status, log).words() + " before it was ready" + log.quote(10));
    }
  }

  /** Why a worker refused to start: its log from the last line that says so (a reason may span lines). */
  private static Optional<String> refusal(WorkerLog log) {
    List<String> tail = log.tail(20);
    for (int i = tail.size() - 1; i >= 0; i--) {
      if (tail.get(i).startsWith(WorkerLaunch.REFUSAL)) {
        List<String> reason = new ArrayList<>(tail.subList(i, tail.size()));
        reason.set(0, reason.getFirst().substring(WorkerLaunch.REFUSAL.length()));
        return Optional.of(String.join("\n  ", reason));
      }
    }
    return Optional.empty();
  }

  /** Reads the worker's stdout until its ready line; empty if it ends first. */
  private static Optional<Long> readReadyLine(Process process, String nonce) {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        Optional<Long> pid = Handshake.parseReady(line, nonce);
        if (pid.isPresent()) {
          return pid;
        }
      }
    } catch (IOException e) {
      // The pipe broke: the worker is gone, which the caller finds out from its exit status.
    }
    return Optional.empty();
  }
}
