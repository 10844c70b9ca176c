package dev.offload.client;

import dev.offload.proto.v1.Job;
import dev.offload.wire.RefusalTrailers;
import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.Files;

/**
 * Turns what the wire says into the exceptions of this package: a gRPC status (with the trailers
 * that tell refusals apart) or a job's terminal record. gRPC's own types stay in here.
 */
final class Failures {

  private Failures() {}

  /**
   * The exception for a failed call.
   *
   * @param target where the client connects; null over a caller's channel
   * @param handler the handler of the job submitted, or null if the call submitted none
   * @param jobId the job the call followed once accepted, or null if none was
   */
  static RuntimeException of(Throwable failure, ServerTarget target, String handler, String jobId) {
    if (failure instanceof OffloadException || failure instanceof JobCancelledException) {
      return (RuntimeException) failure;
    }
    Status status = Status.fromThrowable(failure);
    Metadata trailers = Status.trailersFromThrowable(failure);
    String reason = trailers == null ? null : trailers.get(RefusalTrailers.REASON);
    String description = status.getDescription() == null ? status.getCode().toString() : status.getDescription();
    if (reason != null) {
      switch (reason) {
        case RefusalTrailers.UNKNOWN_HANDLER -> {
          return new UnknownHandlerException(description, handler, RefusalTrailers.knownHandlers(trailers), failure);
        }
        case RefusalTrailers.INVALID_JOB, RefusalTrailers.IDEMPOTENCY_KEY_REUSED -> {
          return new InvalidInputException(description, failure);
        }
        case RefusalTrailers.QUEUE_FULL -> {
          return new QueueFullException(description, failure);
        }
        case RefusalTrailers.KEPT_QUEUED -> {
          return new ServiceUnavailableException(target, "the service at " + where(target) + " stopped with "
              + (jobId == null ? "the job" : "job " + jobId) + " still queued: " + description, failure);
        }
        case RefusalTrailers.SHUTTING_DOWN -> {
          return new ServiceUnavailableException(target, "the service at " + where(target) + " is shutting down and takes no more jobs: "
              + description + "; submit to a service that is up", failure);
        }
        case RefusalTrailers.STORE_CANNOT_WRITE -> {
          return new ServiceUnavailableException(target, "the service at " + where(target) + " cannot record jobs now, so it did"
              + " not accept this one: " + description, failure);
        }
        default -> {
          // A reason of a newer service: its status says the rest.
        }
      }
    }
    return switch (status.getCode()) {
      case UNAVAILABLE -> jobId == null
          ? new ServiceUnavailableException(target, unreachable(target, description), failure)
          : new ServiceUnavailableException(target, "lost the connection to the service at " + where(target) + " while following job "
              + jobId + " (" + description + "); the job may still run there: reconnect and cancel or follow it by its id", failure);
      case INVALID_ARGUMENT -> new InvalidInputException(description, failure);
      // The client's rewrite of gRPC's refusal of a request too large for the service.
      case RESOURCE_EXHAUSTED -> description.contains("--max-request-size")
          ? new InvalidInputException(description, failure)
          : new OffloadException("the service at " + where(target) + " refused the call for want of resources: " + description, failure);
      case NOT_FOUND -> new JobNotFoundException(description, failure);
      // This side ended the call: the client was closed, or the calling thread interrupted.
      case CANCELLED -> new OffloadException("the call to the service at " + where(target) + " was cut short on this side ("
          + description + "): the client was closed, or the waiting thread interrupted"
          + (jobId == null ? "" : "; job " + jobId + " may still run on the service"), failure);
      case UNAUTHENTICATED, PERMISSION_DENIED -> new OffloadException("the service at " + where(target) + " refused this client ("
          + status.getCode() + "): " + description + "; connect with the service's token (ClientCredentials)", failure);
      default -> new OffloadException("the call to the service at " + where(target) + " failed (" + status.getCode() + "): " + description, failure);
    };
  }

  /** The exception for a job that ended other than SUCCEEDED. */
  static RuntimeException ofEnd(Job job) {
    String code = job.getError().getCode();
    String message = job.getError().getMessage();
    return switch (job.getState()) {
      case TIMED_OUT -> new JobTimedOutException(job.getId(), code, message);
      case CANCELLED -> new JobCancelledException(job.getId(), code, message);
      default -> new JobFailedException(job.getId(), job.getHandler(), code, message,
          job.getError().getExceptionClass(), job.getError().getStackTrace());
    };
  }

  private static String where(ServerTarget target) {
    return target == null ? "the client's channel" : target.toString();
  }

  /** Why nothing answered at a target, and what to do; gRPC's own words are only "io exception". */
  private static String unreachable(ServerTarget target, String description) {
    String what = switch (target) {
      case ServerTarget.Unix unix when !Files.exists(unix.socket()) -> "there is no socket file " + unix.socket();
      case ServerTarget.Unix unix -> "nothing accepts connections on the socket file " + unix.socket()
          + " (a service that was killed leaves its socket behind)";
      case ServerTarget.Tcp tcp -> "nothing accepts connections at " + tcp;
      case null -> "the client's channel is not connected";
    };
    return "cannot reach an offload service at " + where(target) + ": " + what + " (" + description + "). Start one there with"
        + " 'offload serve', or connect to where yours listens: OffloadClient.connect(\"unix:PATH\" or \"HOST:PORT\"), or $"
        + ServerTarget.ENV + " for the default";
  }
}
