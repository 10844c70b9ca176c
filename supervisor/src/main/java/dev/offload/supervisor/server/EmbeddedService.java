package dev.offload.supervisor.server;

import dev.offload.supervisor.pool.WorkerStartException;
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

  private EmbeddedService(Supervisor supervisor, OffloadServer server) {
    this.supervisor = supervisor;
    this.server = server;
  }

  /** Starts the pool and its in-process server; returns once every worker is ready. */
  public static EmbeddedService start(SupervisorConfig config) throws WorkerStartException, InterruptedException {
    Supervisor supervisor = Supervisor.start(config);
    try {
      return new EmbeddedService(supervisor, OffloadServer.start(new ServerTarget.InProcess("offload-" + UUID.randomUUID()), supervisor));
    } catch (IOException e) {
      supervisor.shutdown(Duration.ZERO).join();
      throw new IllegalStateException("cannot start an in-process server", e);
    }
  }

  /** Where clients in this JVM connect. */
  public ServerTarget target() {
    return server.target();
  }

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
