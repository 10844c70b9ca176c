package dev.offload.testing;

import dev.offload.client.OffloadClient;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.server.OffloadServer;
import dev.offload.client.ServerTarget;
import dev.offload.supervisor.server.Supervisor;
import dev.offload.supervisor.server.SupervisorConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A real supervisor with real worker JVMs, served on a Unix socket in a test's temp directory,
 * and a client connected to it. Closing it shuts everything down.
 */
public final class RunningService implements AutoCloseable {

  private final Supervisor supervisor;
  private final OffloadServer server;
  private final OffloadClient client;

  private RunningService(Supervisor supervisor, OffloadServer server) {
    this.supervisor = supervisor;
    this.server = server;
    this.client = OffloadClient.connect(server.target());
  }

  /** Test handlers on, a 1 s cancel grace, quick health checks. */
  public static SupervisorConfig config(int workers) {
    return SupervisorConfig.defaults().withPool(pool(workers).build());
  }

  /** The pool of {@link #config}, to change further. */
  public static PoolConfig.Builder pool(int workers) {
    return PoolConfig.defaults().toBuilder()
        .workers(workers)
        .testHandlers(true)
        .cancelGrace(Duration.ofSeconds(1))
        .healthChecks(Duration.ofMillis(500), Duration.ofSeconds(3));
  }

  public static RunningService start(SupervisorConfig config, Path dir) throws Exception {
    Supervisor supervisor = Supervisor.start(config);
    OffloadServer server = OffloadServer.start(new ServerTarget.Unix(dir.resolve("offload.sock")), supervisor);
    return new RunningService(supervisor, server);
  }

  public OffloadClient client() {
    return client;
  }

  public Supervisor supervisor() {
    return supervisor;
  }

  /** The target for {@code --server}. */
  public String target() {
    return server.target().toString();
  }
  /** The CLI, in this JVM, with {@code --server} set to this service. */
  public Cli.Result cli(String... args) {
    String[] withServer = java.util.Arrays.copyOf(args, args.length + 2);
    withServer[args.length] = "--server";
    withServer[args.length + 1] = target();
    return Cli.run(withServer);
  }


  @Override
  public void close() throws Exception {
    client.close();
    supervisor.shutdown(Duration.ZERO).get();
    server.shutdown();
    server.awaitTermination(Duration.ofSeconds(5));
  }
}
