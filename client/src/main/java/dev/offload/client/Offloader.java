package dev.offload.client;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Runs jobs in a pool of worker JVMs: the Java equivalent of handing a function to a {@code
 * ProcessPoolExecutor}. {@link OffloadClient} does it on a running service, {@link ProcessPool}
 * on a pool this program starts for itself. Implementations are thread-safe and suit virtual
 * threads: every blocking call only waits.
 */
public interface Offloader extends AutoCloseable {

  /**
   * Submits a job and returns at once. The future completes with the job's output JSON when it
   * SUCCEEDED; exceptionally with {@link JobFailedException} when it FAILED or TIMED_OUT, and is
   * cancelled when the job was CANCELLED. Cancelling the future cancels the job (a running job's
   * worker is killed if it does not stop within the cancel grace). A job the service refuses
   * (unknown handler, malformed input, full queue) completes it exceptionally with the service's
   * {@link io.grpc.StatusRuntimeException}.
   */
  CompletableFuture<String> submit(String handler, String inputJson);

  /** Submits a job and waits for its output; see {@link #submit} for how it fails. */
  default String run(String handler, String inputJson) throws JobFailedException, InterruptedException {
    try {
      return submit(handler, inputJson).get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof JobFailedException failed) {
        throw failed;
      }
      throw new IllegalStateException("job could not be followed to its end", e.getCause());
    }
  }

  /** Waits for a job's end, passing each event to {@code onEvent}; returns the terminal job. */
  Job watch(String jobId, Consumer<JobEvent> onEvent);

  /** Cancels a job by id; returns its record after the request. */
  Job cancel(String jobId);

  /** Frees the connection (and, for a {@link ProcessPool}, ends its workers). Bounded. */
  @Override
  void close();
}
