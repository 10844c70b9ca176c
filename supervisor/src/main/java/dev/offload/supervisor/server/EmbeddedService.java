package dev.offload.supervisor.server;

import dev.offload.client.OffloadClient;
import dev.offload.supervisor.pool.WorkerStartException;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.UUID;

/**
 * A supervisor private to this JVM, served over gRPC's in-process transport, for a command that
 * finds no running service (the embedded default). Closing it shuts the pool down and leaves no
 * process behind.
 */
public final class EmbeddedService implements AutoCloseable {

  private static final Duration CLOSE_LIMIT = Duration.ofSeconds(5);

  private final Supervisor supervisor;
  private final OffloadServer server;

  private final String name;

  private EmbeddedService(Supervisor supervisor, OffloadServer server, String name) {
    this.supervisor = supervisor;
    this.server = server;
    this.name = name;
  }

  /** Starts the pool and its in-process server; returns once every worker is ready. */
  public static EmbeddedService start(SupervisorConfig config) throws WorkerStartException, InterruptedException {
    Supervisor supervisor = Supervisor.start(config);
    try {
      String name = "offload-" + UUID.randomUUID();
      return new EmbeddedService(supervisor, OffloadServer.startInProcess(name, supervisor), name);
    } catch (IOException e) {
      supervisor.shutdown(Duration.ZERO).join();
      throw new IllegalStateException("cannot start an in-process server", e);
    }
  }

  /**
   * A new client of this service; close it before the service. Its results and events are handed
   * to the caller on gRPC's executor, not on the pool's I/O thread: a caller's result handling
   * (writing files, say) must not hold up the pool.
   */
  public OffloadClient connect() {
    // Any answer size, as over a socket: the service is this JVM's own.
    return OffloadClient.over(InProcessChannelBuilder.forName(name).maxInboundMessageSize(Integer.MAX_VALUE).build());
  }

  /** The supervisor this service serves, for what a client cannot see (its workers' pids, say). */
  public Supervisor supervisor() {
    return supervisor;
  }

  /** Cancels whatever still runs, ends every worker and stops the server. */
  @Override
  public void close() throws InterruptedException {
    supervisor.shutdown(Duration.ZERO).join();
    server.shutdown();
    server.awaitTermination(CLOSE_LIMIT);
  }
}
