package dev.offload.cli;

import dev.offload.client.OffloadClient;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.server.EmbeddedService;
import dev.offload.client.ServerTarget;
import dev.offload.supervisor.server.SupervisorConfig;
import java.io.PrintWriter;

/**
 * A client of the service at a target, or, when none answers there, of a private pool started
 * for this one command (the embedded default of {@code run}, {@code batch} and {@code bench}).
 * Closing it closes the client and shuts a private pool down, leaving no process behind.
 */
final class ServiceConnection implements AutoCloseable {

  private final OffloadClient client;
  private final EmbeddedService privatePool;

  private ServiceConnection(OffloadClient client, EmbeddedService privatePool) {
    this.client = client;
    this.privatePool = privatePool;
  }

  /**
   * Connects to the target, or starts a private pool as {@code pool} says, with a note on {@code
   * err} saying so.
   */
  static ServiceConnection open(ServerOptions server, PoolConfig pool, PrintWriter err) throws InterruptedException {
    ServerTarget target = server.target();
    if (OffloadClient.answers(target)) {
      try {
        return new ServiceConnection(OffloadClient.connect(target, server.credentials()), null);
      } catch (IllegalArgumentException e) {
        throw new CliException(ExitCodes.USAGE, e.getMessage());
      }
    }
    err.println("offload: no service at " + target + "; running on a private pool of " + pool.workers()
        + (pool.workers() == 1 ? " worker" : " workers") + " (start 'offload serve' to keep a pool warm)");
    err.flush();
    EmbeddedService embedded;
    try {
      embedded = EmbeddedService.start(SupervisorConfig.defaults().withPool(pool));
    } catch (WorkerStartException e) {
      throw new CliException(ExitCodes.FAILED, "the private pool did not start: " + e.getMessage());
    }
    return new ServiceConnection(embedded.connect(), embedded);
  }

  OffloadClient client() {
    return client;
  }

  /** Where the jobs run, for reports: the target, or the private pool. */
  String describe() {
    return privatePool == null ? client.target().orElseThrow().toString() : "a private pool (in-process)";
  }

  @Override
  public void close() throws InterruptedException {
    client.close();
    if (privatePool != null) {
      privatePool.close();
    }
  }
}
