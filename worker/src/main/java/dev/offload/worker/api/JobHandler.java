package dev.offload.worker.api;

/**
 * A kind of job a worker can run, such as {@code is_prime}: the function a user offloads.
 *
 * <p>Implementations are found with {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.offload.worker.api.JobHandler} of a built-in or plugin jar. A
 * handler needs a public no-argument constructor, and it uses JDK types only, so a plugin can be
 * compiled against this interface alone.
 *
 * <p><b>Threading.</b> A worker runs one job at a time, so {@link #run} is never called
 * concurrently within one worker; a handler instance lives as long as its worker process and may
 * keep caches between jobs.
 *
 * <p><b>Failure.</b> Whatever {@link #run} throws becomes a FAILED job whose message is the
 * exception's message; the worker stays up and serves the next job. Throw {@link
 * IllegalArgumentException} with a message that says what is wrong for input the handler cannot
 * use. Only a process-level failure (exit, halt, out of memory) costs the worker, and then only
 * the job it was running.
 *
 * <p><b>Cancellation.</b> A long-running handler should check {@link JobContext#isCancelled()}
 * between chunks of work or block in interruptible calls. One that does neither is still stopped:
 * after the cancel grace its worker process is killed and replaced.
 */
public interface JobHandler {

  /** The name jobs use to ask for this handler: lower case, digits and {@code _}, unique in a pool. */
  String name();

  /** One line that says what the handler does and what input it takes. */
  String description();

  /**
   * Whether this handler exists only for testing offload itself (for example one that crashes its
   * worker). Such handlers are offered only when the service starts with test handlers enabled.
   */
  default boolean testOnly() {
    return false;
  }

  /**
   * Runs one job.
   *
   * @param inputJson the job's input as JSON text ({@code null} input arrives as {@code "null"})
   * @param context the job's id, its cancellation state and a way to report progress
   * @return the output as JSON text
   * @throws Exception any failure, which fails this job only
   */
  String run(String inputJson, JobContext context) throws Exception;
}
