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
 * <p>Workers run on the Java of this JVM and on the worker distribution that offload-supervisor
 * carries (extracted once into the user's cache directory), never on this JVM's class path, unless
 * the pool's config names others ({@link dev.offload.supervisor.pool.PoolConfig.Builder#java},
 * {@link dev.offload.supervisor.pool.PoolConfig.Builder#classpath}). They log with Logback into logs
 * of their own, whatever SLF4J backend this JVM uses.
 *
 * <p><b>Worker logs.</b> By default each worker's log (its stderr) is kept in the pool's private
 * temporary directory and deleted with it when the pool closes. To keep them, for a failed job's
 * stack trace say, give the pool a directory: {@code
 * PoolConfig.defaults().toBuilder().logDir(Path.of("logs"))} (see {@link
 * dev.offload.supervisor.pool.PoolConfig.Builder#logDir}); there each worker process writes a file
 * of its own, which outlives the pool, and the newest 50 are kept.
 *
 * <p><b>Ending.</b> {@link #close()} cancels what still runs, ends every worker and returns within a
 * few seconds, leaving no process behind. A program should close its pool, but one that does not
 * leaves nothing behind either when its JVM exits normally (main returns, {@code System.exit}, or
 * SIGTERM / Ctrl-C): a shutdown hook of each open pool kills its workers and removes its private
 * directory in {@code java.io.tmpdir}. A JVM killed outright (SIGKILL, a crash) runs no hook: its
 * workers notice their parent gone and exit by themselves, the last of them removing the directory,
 * and whatever is still left (if they were killed too) is removed by the next pool that starts on
 * the machine.
 */
public final class ProcessPool implements Offloader {

  private final EmbeddedService service;
  private final OffloadClient client;

  private ProcessPool(EmbeddedService service) {
    this.service = service;
    this.client = service.connect();
  }

  /**
   * Starts {@code workers} worker JVMs with the default configuration and returns once all are
   * ready.
   *
   * @param workers how many worker JVMs the pool keeps; each runs one job at a time
   * @return the started pool, which the caller closes
   * @throws WorkerStartException if a worker could not start; the message quotes its log
   * @throws InterruptedException if this thread is interrupted while the workers start; the
   *     workers started so far are ended
   */
  public static ProcessPool start(int workers) throws WorkerStartException, InterruptedException {
    return start(SupervisorConfig.defaults().withPool(PoolConfig.defaults().toBuilder().workers(workers).build()));
  }

  /**
   * Starts a pool as configured and returns once every worker is ready.
   *
   * @param config the pool (workers, heap, handler jars, logs, class path) and the service's limits
   * @return the started pool, which the caller closes
   * @throws WorkerStartException if a worker could not start; the message quotes its log
   * @throws InterruptedException if this thread is interrupted while the workers start; the
   *     workers started so far are ended
   */
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

  /**
   * Cancels what still runs, ends every worker and removes the pool's private directory; returns
   * within a few seconds.
   */
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
