package dev.offload.client;

/**
 * Runs jobs in a pool of worker JVMs: the Java equivalent of handing a function to a Python
 * {@code ProcessPoolExecutor}. {@link OffloadClient} does it on a running service; {@code
 * dev.offload.supervisor.ProcessPool} (in {@code offload-supervisor}) on a pool this program
 * starts for itself. Hand one instance to every task that needs CPU work done.
 *
 * <p>A job names a handler (for example {@code "is_prime"}) and carries an input; its output
 * comes back when it ends. {@code submit} maps the input and output as Java objects with Jackson
 * (records, maps, lists, numbers, strings, {@code JsonNode}s); {@code submitJson} takes and gives
 * JSON text as it is. Every job can carry {@link JobOptions}: a timeout, a deadline, retries and a
 * progress listener.
 *
 * <p><b>Threads.</b> Implementations are thread-safe. Every blocking method only waits (on a
 * virtual thread it costs no platform thread), and every wait can be interrupted: interrupting a
 * thread that waits for a job's acceptance or its end cancels the job on the service, then throws
 * {@link InterruptedException}. See {@link JobHandle} for what does and does not cancel a job.
 *
 * <p><b>Failures.</b> A job the service refuses throws a {@link JobRejectedException} from
 * {@code submit}: {@link UnknownHandlerException} (with the handlers the service has), {@link
 * InvalidInputException} or {@link QueueFullException}. An unreachable service throws {@link
 * ServiceUnavailableException}, naming where it looked. A job that ran and did not succeed
 * throws, when waited for, {@link JobFailedException} (with the handler's exception class and
 * stack trace), {@link JobTimedOutException} or {@link JobCancelledException}. All are unchecked.
 */
public interface Offloader extends AutoCloseable {

  /**
   * Submits a job whose input and output are Java objects mapped by Jackson, and returns once the
   * service has accepted it (one round trip).
   *
   * @param handler the handler to run, for example {@code "is_prime"}
   * @param input the job's input, written as JSON by Jackson; a {@code String} is written as a
   *     JSON string, null as JSON null
   * @param outputType the type to read the job's output as: a record or bean, {@code
   *     JsonNode.class} for a tree, an array type ({@code Prime[].class}) for a list
   * @param options the job's limits, retries and progress listener
   * @param <O> the type of the job's output
   * @return the accepted job's handle
   * @throws InterruptedException if the thread was interrupted while waiting for the acceptance;
   *     the job, if accepted, has been asked to cancel
   * @throws IllegalArgumentException if Jackson cannot write {@code input} as JSON
   * @throws UnknownHandlerException if the service has no such handler
   * @throws InvalidInputException if the service refused the input or options
   * @throws QueueFullException if the service's queue is full
   * @throws ServiceUnavailableException if the service cannot be reached or is shutting down
   * @throws OffloadException if the service refused the call another way (a wrong token, say)
   */
  <O> JobHandle<O> submit(String handler, Object input, Class<O> outputType, JobOptions options) throws InterruptedException;

  /**
   * Submits a job with the default options; see {@link #submit(String, Object, Class, JobOptions)}.
   *
   * @param handler the handler to run
   * @param input the job's input, written as JSON by Jackson
   * @param outputType the type to read the job's output as
   * @param <O> the type of the job's output
   * @return the accepted job's handle
   * @throws InterruptedException if the thread was interrupted while waiting for the acceptance
   */
  default <O> JobHandle<O> submit(String handler, Object input, Class<O> outputType) throws InterruptedException {
    return submit(handler, input, outputType, JobOptions.defaults());
  }

  /**
   * Submits a job whose input and output are JSON text, passed as they are, and returns once the
   * service has accepted it. It fails as {@link #submit(String, Object, Class, JobOptions)} does;
   * the service refuses input that is not JSON with {@link InvalidInputException}.
   *
   * @param handler the handler to run
   * @param inputJson the job's input as JSON text; empty means JSON null
   * @param options the job's limits, retries and progress listener
   * @return the accepted job's handle, whose result is the output as JSON text
   * @throws InterruptedException if the thread was interrupted while waiting for the acceptance
   */
  JobHandle<String> submitJson(String handler, String inputJson, JobOptions options) throws InterruptedException;

  /**
   * Submits a job of JSON text with the default options; see {@link #submitJson(String, String,
   * JobOptions)}.
   *
   * @param handler the handler to run
   * @param inputJson the job's input as JSON text
   * @return the accepted job's handle
   * @throws InterruptedException if the thread was interrupted while waiting for the acceptance
   */
  default JobHandle<String> submitJson(String handler, String inputJson) throws InterruptedException {
    return submitJson(handler, inputJson, JobOptions.defaults());
  }

  /**
   * Runs a job and waits for its output: {@link #submit(String, Object, Class, JobOptions)}, then
   * {@link JobHandle#get()}. Interrupting the waiting thread cancels the job.
   *
   * @param handler the handler to run
   * @param input the job's input, written as JSON by Jackson
   * @param outputType the type to read the job's output as
   * @param options the job's limits, retries and progress listener
   * @param <O> the type of the job's output
   * @return the job's output
   * @throws InterruptedException if the thread was interrupted; the job has been asked to cancel
   * @throws JobFailedException if the job FAILED
   * @throws JobTimedOutException if the job ran past its timeout or deadline
   * @throws JobCancelledException if the job was cancelled
   */
  default <O> O run(String handler, Object input, Class<O> outputType, JobOptions options) throws InterruptedException {
    return submit(handler, input, outputType, options).get();
  }

  /**
   * Runs a job with the default options and waits for its output; see {@link #run(String, Object,
   * Class, JobOptions)}.
   *
   * @param handler the handler to run
   * @param input the job's input, written as JSON by Jackson
   * @param outputType the type to read the job's output as
   * @param <O> the type of the job's output
   * @return the job's output
   * @throws InterruptedException if the thread was interrupted; the job has been asked to cancel
   */
  default <O> O run(String handler, Object input, Class<O> outputType) throws InterruptedException {
    return run(handler, input, outputType, JobOptions.defaults());
  }

  /**
   * Runs a job of JSON text and waits for its output; see {@link #run(String, Object, Class,
   * JobOptions)}.
   *
   * @param handler the handler to run
   * @param inputJson the job's input as JSON text
   * @param options the job's limits, retries and progress listener
   * @return the job's output as JSON text
   * @throws InterruptedException if the thread was interrupted; the job has been asked to cancel
   */
  default String runJson(String handler, String inputJson, JobOptions options) throws InterruptedException {
    return submitJson(handler, inputJson, options).get();
  }

  /**
   * Runs a job of JSON text with the default options and waits for its output.
   *
   * @param handler the handler to run
   * @param inputJson the job's input as JSON text
   * @return the job's output as JSON text
   * @throws InterruptedException if the thread was interrupted; the job has been asked to cancel
   */
  default String runJson(String handler, String inputJson) throws InterruptedException {
    return runJson(handler, inputJson, JobOptions.defaults());
  }

  /**
   * Asks the service to cancel a job by its id (from {@link JobHandle#id()}, or another client),
   * and returns at once: a queued job ends CANCELLED now; a running one is told to stop, its worker
   * killed if it does not within the service's cancel grace. Cancelling an ended job changes
   * nothing.
   *
   * @param jobId the job's id
   * @return the job's state after the request: CANCELLED if it was queued, RUNNING while it is
   *     being stopped, or the state it had ended in
   * @throws JobNotFoundException if the service holds no such job
   * @throws ServiceUnavailableException if the service cannot be reached
   */
  JobState cancel(String jobId);

  /**
   * Frees the connection (and, for an embedded pool, ends its workers). Bounded: it returns
   * within seconds. Jobs waited for on other threads then fail.
   */
  @Override
  void close();
}
