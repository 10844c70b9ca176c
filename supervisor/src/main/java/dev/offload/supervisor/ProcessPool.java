package dev.offload.supervisor;

import dev.offload.client.OffloadClient;
import dev.offload.client.Offloader;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.server.EmbeddedService;
import dev.offload.supervisor.server.SupervisorConfig;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A pool of worker JVMs that this program starts and owns, like a Python program's {@code
 * ProcessPoolExecutor}: start it once, hand jobs to it from any thread, close it when done.
 *
 * <pre>{@code
 * try (ProcessPool pool = ProcessPool.start(2)) {
 *   CompletableFuture<String> prime = pool.submit("is_prime", "9999999999999917");
 *   System.out.println(prime.get()); // {"n":9999999999999917,"prime":true}
 * }
 * }</pre>
 *
 * <p>Workers run on the class path and Java of this JVM unless the pool's config names others
 * ({@link dev.offload.supervisor.pool.PoolConfig.Builder#classpath}, {@link
 * dev.offload.supervisor.pool.PoolConfig.Builder#java}); they log with Logback into logs of their
 * own, whatever SLF4J backend this JVM uses. {@link #close()} cancels what still
 * runs, ends every worker and returns within a few seconds, leaving no process behind.
 */
public final class ProcessPool implements Offloader {

  private final EmbeddedService service;
  private final OffloadClient client;

  private ProcessPool(EmbeddedService service) {
    this.service = service;
    this.client = service.connect();
  }

  /** Starts {@code workers} worker JVMs and returns once all are ready. */
  public static ProcessPool start(int workers) throws WorkerStartException, InterruptedException {
    return start(SupervisorConfig.defaults().withPool(PoolConfig.defaults().toBuilder().workers(workers).build()));
  }

  /** Starts a pool as configured and returns once every worker is ready. */
  public static ProcessPool start(SupervisorConfig config) throws WorkerStartException, InterruptedException {
    return new ProcessPool(EmbeddedService.start(config));
  }

  @Override
  public CompletableFuture<String> submit(String handler, String inputJson) {
    return client.submit(handler, inputJson);
  }

  @Override
  public Job watch(String jobId, Consumer<JobEvent> onEvent) {
    return client.watch(jobId, onEvent);
  }

  @Override
  public Job cancel(String jobId) {
    return client.cancel(jobId);
  }

  /** The pool's service as a client sees it, for everything else (status, list, batches). */
  public OffloadClient client() {
    return client;
  }

  @Override
  public void close() {
    client.close();
    try {
      service.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
