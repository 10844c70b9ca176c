package dev.offload.supervisor;

import dev.offload.client.JobHandle;
import dev.offload.client.JobOptions;
import dev.offload.client.JobState;
import dev.offload.client.OffloadClient;
import dev.offload.client.Offloader;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.pool.WorkerStartException;
import dev.offload.supervisor.server.EmbeddedService;
import dev.offload.supervisor.server.SupervisorConfig;

/**
 * A pool of worker JVMs that this program starts and owns, like a Python program's {@code
 * ProcessPoolExecutor}: start it once, hand jobs to it from any thread, close it when done.
 *
 * <pre>{@code
 * record Prime(long n, boolean prime) {}
 *
 * try (ProcessPool pool = ProcessPool.start(2)) {
 *   Prime p = pool.run("is_prime", 9999999999999917L, Prime.class);
 *   System.out.println(p); // Prime[n=9999999999999917, prime=true]
 * }
 * }</pre>
 *
 * <p>It is an {@link Offloader}: jobs, options, cancellation (interrupting a waiting thread
 * cancels its job) and exceptions are as that interface and {@link JobHandle} describe. It is
 * thread-safe; hand the one pool to every task that needs it.
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
  public <O> JobHandle<O> submit(String handler, Object input, Class<O> outputType, JobOptions options) throws InterruptedException {
    return client.submit(handler, input, outputType, options);
  }

  @Override
  public JobHandle<String> submitJson(String handler, String inputJson, JobOptions options) throws InterruptedException {
    return client.submitJson(handler, inputJson, options);
  }

  @Override
  public JobState cancel(String jobId) {
    return client.cancel(jobId);
  }

  /**
   * The pool's service as a client sees it; its {@link OffloadClient#wire()} has the rest (pool
   * status, job lists, batches).
   *
   * @return the client this pool's jobs go through; closed with the pool
   */
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
