package dev.offload.supervisor.server;

import dev.offload.wire.RefusalTrailers;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;

/**
 * How a stream that follows jobs ends when the service stops and leaves them queued for the next
 * service on its store: UNAVAILABLE, with the trailer {@link RefusalTrailers#KEPT_QUEUED} and a
 * message that names the jobs and says how to get their results.
 */
final class KeptJobs {

  /** How many ids a message names before it counts the rest: a status travels in a bounded header. */
  static final int NAMED_IDS = 10;

  private KeptJobs() {}

  /**
   * The status that ends a stream whose jobs were kept.
   *
   * @param ids the kept jobs' ids, in the order they were accepted; at least one
   * @param storeUrl where they are kept, any password removed
   * @param batch whether the stream is a batch's, whose client can resume
   */
  static StatusRuntimeException status(List<String> ids, String storeUrl, boolean batch) {
    String which;
    if (ids.size() == 1) {
      which = "job " + ids.get(0);
    } else if (ids.size() <= NAMED_IDS) {
      which = ids.size() + " jobs (" + String.join(", ", ids) + ")";
    } else {
      which = ids.size() + " jobs (" + String.join(", ", ids.subList(0, NAMED_IDS)) + " and " + (ids.size() - NAMED_IDS) + " more)";
    }
    String one = ids.size() == 1 ? "it stays" : "they stay";
    String fetch = batch
        ? "then 'offload result --wait ID' waits for a job's result by its id ('offload batch --output FILE --resume' does"
            + " that for the lines whose ids it kept in FILE.pending)"
        : "then 'offload result --wait " + ids.get(0) + "' waits for its result";
    return Status.UNAVAILABLE
        .withDescription("the service shut down before " + which + " ran: " + one + " queued in its store " + storeUrl
            + " and " + (ids.size() == 1 ? "runs" : "run") + " when a service starts again on that store; " + fetch)
        .asRuntimeException(RefusalTrailers.of(RefusalTrailers.KEPT_QUEUED));
  }
}
