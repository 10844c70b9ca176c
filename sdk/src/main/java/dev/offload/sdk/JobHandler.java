package dev.offload.sdk;

/**
 * A kind of job a worker can run, such as {@code is_prime}: the function a user offloads.
 *
 * <p>Implementations are found with {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.offload.sdk.JobHandler} of a built-in or plugin jar. A
 * handler needs a public no-argument constructor. Its contract in full (threading, failure,
 * cancellation, progress, JSON, packaging) is in the {@linkplain dev.offload.sdk package
 * documentation}; in short:
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

  /**
   * {@return the name jobs use to ask for this handler} It is lower case letters, digits and
   * {@code _}, starts with a letter, and is unique in a pool; it never changes.
   */
  String name();

  /** {@return one line that says what the handler does and what input it takes} */
  String description();

  /**
   * {@return whether this handler exists only for testing offload itself} Such a handler (for
   * example one that crashes its worker) is offered only when the service starts with test
   * handlers enabled. Plugins have no reason to override this.
   */
  default boolean testOnly() {
    return false;
  }

  /**
   * Runs one job, on the worker's job thread.
   *
   * @param inputJson the job's input as JSON text ({@code null} input arrives as {@code "null"})
   * @param context the job's id, its cancellation state and a way to report progress
   * @return the output as JSON text; {@code null} stands for JSON null
   * @throws Exception any failure, which fails this job only; {@link IllegalArgumentException}
   *     for input the handler cannot use, with a message that says what is wrong
   */
  String run(String inputJson, JobContext context) throws Exception;
}
