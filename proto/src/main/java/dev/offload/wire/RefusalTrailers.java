package dev.offload.wire;

import io.grpc.Metadata;
import java.util.Arrays;
import java.util.List;

/**
 * What a service adds to a refused submission, beside its status, so that a client can tell
 * refusals that share a gRPC code apart without reading the message: an unknown handler and a
 * malformed input are both INVALID_ARGUMENT, but a program acts on them differently. A service
 * that sends none (an older one) leaves the client with the status alone.
 */
public final class RefusalTrailers {

  /** Why the job was refused: one of the constants below. */
  public static final Metadata.Key<String> REASON = Metadata.Key.of("offload-refusal", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * With {@link #UNKNOWN_HANDLER}: the handlers the service has, comma separated; left out when
   * longer than {@link #MAX_KNOWN_HANDLERS_CHARS}, as trailers travel in headers that clients
   * bound (8 KiB by default).
   */
  public static final Metadata.Key<String> KNOWN_HANDLERS = Metadata.Key.of("offload-known-handlers", Metadata.ASCII_STRING_MARSHALLER);

  /** The longest {@link #KNOWN_HANDLERS} value sent. */
  public static final int MAX_KNOWN_HANDLERS_CHARS = 4_000;

  /** The job names a handler the service does not have. */
  public static final String UNKNOWN_HANDLER = "UNKNOWN_HANDLER";
  /** The job's input or options are not valid (not JSON, too large, a negative timeout, ...). */
  public static final String INVALID_JOB = "INVALID_JOB";
  /** The service's queue is full. */
  public static final String QUEUE_FULL = "QUEUE_FULL";
  /** The service is shutting down and takes no more jobs. */
  public static final String SHUTTING_DOWN = "SHUTTING_DOWN";
  /**
   * Not a refusal of a submission but the end of a stream that followed a job (RunJob, WatchJob,
   * RunBatch): the service shut down with the job still queued, and left it queued in its store
   * for the next service on that store, which runs it. Its result can be fetched by its id then.
   */
  public static final String KEPT_QUEUED = "KEPT_QUEUED";
  /**
   * The service's job store cannot record the job (its disk is full: RESOURCE_EXHAUSTED; or it is
   * read-only or failing: UNAVAILABLE). The job was not accepted; it may be submitted again once
   * the store can write.
   */
  public static final String STORE_CANNOT_WRITE = "STORE_CANNOT_WRITE";
  /**
   * The job's idempotency key was given to another job already, one with another handler or input
   * (FAILED_PRECONDITION): nothing was created. Choose another key, or submit that job's own
   * request again.
   */
  public static final String IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED";

  private RefusalTrailers() {}

  /**
   * Trailers that carry a refusal's reason.
   *
   * @param reason one of the constants above
   * @return new trailers with {@link #REASON}
   */
  public static Metadata of(String reason) {
    Metadata trailers = new Metadata();
    trailers.put(REASON, reason);
    return trailers;
  }

  /**
   * Trailers for an unknown handler, with the handlers the service has.
   *
   * @param known the names of the handlers the service has
   * @return new trailers with {@link #REASON} and, unless too long, {@link #KNOWN_HANDLERS}
   */
  public static Metadata unknownHandler(List<String> known) {
    Metadata trailers = of(UNKNOWN_HANDLER);
    String names = String.join(",", known);
    if (names.length() <= MAX_KNOWN_HANDLERS_CHARS) {
      trailers.put(KNOWN_HANDLERS, names);
    }
    return trailers;
  }

  /**
   * The handler names of {@link #KNOWN_HANDLERS}, or an empty list if there are none.
   *
   * @param trailers a refused call's trailers, or null
   * @return the names, in the service's order
   */
  public static List<String> knownHandlers(Metadata trailers) {
    String names = trailers == null ? null : trailers.get(KNOWN_HANDLERS);
    return names == null || names.isEmpty() ? List.of() : Arrays.asList(names.split(","));
  }
}
