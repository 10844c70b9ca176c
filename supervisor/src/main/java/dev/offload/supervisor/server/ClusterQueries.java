package dev.offload.supervisor.server;

import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.ServiceStatus;
import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.JobStore;
import dev.offload.supervisor.store.JobRecord;
import dev.offload.supervisor.store.ServiceRecord;
import dev.offload.supervisor.store.SharedStore;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Answers clients' questions about the jobs of a cluster (services sharing one store): a job
 * submitted through, or run by, another service is known only to the shared store. Every answer
 * that needs the database is made on a virtual thread, never on the event loop.
 */
final class ClusterQueries {

  private final SharedStore store;
  private final JobStore jobs;
  private final Dispatcher dispatcher;

  ClusterQueries(SharedStore store, JobStore jobs, Dispatcher dispatcher) {
    this.store = store;
    this.jobs = jobs;
    this.dispatcher = dispatcher;
  }

  /**
   * Whether this service's own record of the job is the whole truth: the job ended, or this
   * service holds it. Otherwise the shared store knows better (another service may run it).
   */
  boolean knowsBest(Job job) {
    return job.isTerminal() || dispatcher.holds(job);
  }

  /** The job as the shared store has it now. */
  void get(String id, StreamObserver<dev.offload.proto.v1.Job> answer, Function<String, StatusRuntimeException> notFound) {
    answerLater(answer, () -> store.find(sequenceOf(id, notFound)).map(Job::view).orElseThrow(() -> notFound.apply(id)));
  }

  /**
   * The job under this id, followed here from now on (a job of another service's that a client
   * here watches): its end reaches this service as the end of any job it follows.
   */
  void follow(String id, StreamObserver<Job> answer, Function<String, StatusRuntimeException> notFound) {
    answerLater(answer, () -> {
      long sequence = sequenceOf(id, notFound);
      JobRecord record = store.find(sequence).orElseThrow(() -> notFound.apply(id));
      Job job = jobs.follow(record);
      if (!record.finished()) {
        // It may have ended between the read and the following, unheard: read it once more.
        store.find(sequence).filter(JobRecord::finished).ifPresent(ended -> dispatcher.endedElsewhere(job, ended));
      }
      return job;
    });
  }

  /** Asks the job's holder, whichever service it is, to cancel it; answers with the job as it is then. */
  void cancel(String id, StreamObserver<dev.offload.proto.v1.Job> answer, Function<String, StatusRuntimeException> notFound) {
    answerLater(answer, () -> {
      long sequence = sequenceOf(id, notFound);
      SharedStore.StopOutcome outcome = store.requestStop(sequence, JobState.CANCELLED, "CANCELLED", "cancelled by request");
      JobRecord record = store.find(sequence).orElseThrow(() -> notFound.apply(id));
      if (outcome == SharedStore.StopOutcome.ENDED && record.finished()) {
        jobs.find(id).ifPresent(followed -> dispatcher.endedElsewhere(followed, record));
      }
      return Job.view(record);
    });
  }

  /** The cluster's jobs in this state (all if null), at most {@code limit}, oldest first. */
  void list(JobState state, int limit, StreamObserver<List<dev.offload.proto.v1.Job>> answer) {
    answerLater(answer, () -> store.list(state, limit).stream()
        .sorted(Comparator.comparingLong(JobRecord::submittedAtMs).thenComparingLong(JobRecord::id))
        .map(Job::view)
        .toList());
  }

  /** The cluster's services and its shared queue's depth, for {@code stats}. */
  record Cluster(List<ServiceStatus> services, long sharedQueueDepth) {}

  void cluster(StreamObserver<Cluster> answer) {
    answerLater(answer, () -> new Cluster(store.services().stream().map(ClusterQueries::status).toList(), store.sharedQueueDepth()));
  }

  private static ServiceStatus status(ServiceRecord service) {
    return ServiceStatus.newBuilder()
        .setName(service.name())
        .setAddress(service.address())
        .setWorkers(service.workers())
        .setJobsHeld(service.jobsHeld())
        .setLastHeartbeatMs(service.lastHeartbeatMs())
        .build();
  }

  /** The number of a job id ({@code j-N}); NOT_FOUND for anything else, as no job has such an id. */
  private static long sequenceOf(String id, Function<String, StatusRuntimeException> notFound) {
    if (id.startsWith("j-")) {
      try {
        long sequence = Long.parseLong(id.substring(2));
        if (sequence > 0) {
          return sequence;
        }
      } catch (NumberFormatException e) {
        // not a job id: no job has it
      }
    }
    throw notFound.apply(id);
  }

  /** A question whose answer needs the database. */
  @FunctionalInterface
  private interface Question<T> {
    T answer();
  }

  /**
   * Answers on a virtual thread: the value, or the refusal it threw, or UNAVAILABLE naming the
   * store if the store could not be read.
   */
  private <T> void answerLater(StreamObserver<T> answer, Question<T> question) {
    Thread.ofVirtual().name("offload-cluster-query").start(() -> {
      T value;
      try {
        value = question.answer();
      } catch (StatusRuntimeException refusal) {
        answer.onError(refusal);
        return;
      } catch (RuntimeException e) {
        answer.onError(Status.UNAVAILABLE
            .withDescription("the cluster's store " + store.url() + " cannot be read now: " + e.getMessage()
                + "; try again once the database is back")
            .asRuntimeException());
        return;
      }
      answer.onNext(value);
      answer.onCompleted();
    });
  }

  /** Only the first answer of a question that succeeded, for callers that need no stream. */
  static <T> StreamObserver<T> then(java.util.function.Consumer<T> onValue, java.util.function.Consumer<Throwable> onError) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        onValue.accept(value);
      }

      @Override
      public void onError(Throwable t) {
        onError.accept(t);
      }

      @Override
      public void onCompleted() {}
    };
  }
}
