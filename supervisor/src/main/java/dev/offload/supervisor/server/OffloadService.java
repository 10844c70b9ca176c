package dev.offload.supervisor.server;

import dev.offload.proto.v1.CancelJobRequest;
import dev.offload.proto.v1.CancelJobResponse;
import dev.offload.proto.v1.GetJobRequest;
import dev.offload.proto.v1.GetJobResponse;
import dev.offload.proto.v1.GetPoolStatusRequest;
import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.HandlerInfo;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.ListHandlersRequest;
import dev.offload.proto.v1.ListHandlersResponse;
import dev.offload.proto.v1.ListJobsRequest;
import dev.offload.proto.v1.ListJobsResponse;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.ShutdownRequest;
import dev.offload.proto.v1.ShutdownResponse;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.wire.RefusalTrailers;
import dev.offload.proto.v1.SubmitJobResponse;
import dev.offload.proto.v1.WatchJobRequest;
import dev.offload.proto.v1.WorkerState;
import dev.offload.proto.v1.WorkerStatus;
import dev.offload.supervisor.job.Job;
import dev.offload.supervisor.job.JobRejectedException;
import dev.offload.supervisor.job.JobStore;
import dev.offload.supervisor.job.PendingInputs;
import dev.offload.supervisor.pool.WorkerPool.SlotStatus;
import dev.offload.supervisor.store.KeyTakenException;
import dev.offload.supervisor.store.SharedStore;
import dev.offload.supervisor.store.Store;
import dev.offload.supervisor.store.StoreException;
import dev.offload.supervisor.store.StoreUrl;
import dev.offload.proto.v1.StoreStatus;
import dev.offload.wire.IdempotencyKeys;
import dev.offload.wire.Utf8;
import dev.offload.sdk.Json;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.stream.Collectors;

/**
 * The public {@code Offload} rpcs over a {@link Supervisor}'s parts. Every rpc answers without
 * waiting: streams are fed by job listeners as events happen, never by a thread that blocks.
 */
public final class OffloadService extends OffloadGrpc.OffloadImplBase {

  private final Supervisor supervisor;
  /** With a shared store: answers about jobs this service does not hold; else null. */
  private final ClusterQueries cluster;

  OffloadService(Supervisor supervisor) {
    this.supervisor = supervisor;
    this.cluster = supervisor.store() instanceof SharedStore shared
        ? new ClusterQueries(shared, supervisor.jobs(), supervisor.dispatcher())
        : null;
  }

  @Override
  public void submitJob(SubmitJobRequest request, StreamObserver<SubmitJobResponse> response) {
    accept(request, job -> {
      response.onNext(SubmitJobResponse.newBuilder().setJob(job.toProto()).build());
      response.onCompleted();
    }, response::onError);
  }

  @Override
  public void runJob(SubmitJobRequest request, StreamObserver<JobEvent> response) {
    var events = (ServerCallStreamObserver<JobEvent>) response;
    ClientGone gone = new ClientGone(events); // now: gRPC takes the handler only during this call
    accept(request, job -> stream(job, events, gone, supervisor.config().limits().maxWatchersPerJob(), keptStoreUrl()),
        response::onError);
  }

  @Override
  public StreamObserver<dev.offload.proto.v1.BatchRequest> runBatch(StreamObserver<dev.offload.proto.v1.BatchResult> results) {
    return new BatchSession(this::accept, supervisor.pendingInputs(), supervisor.dispatcher(), supervisor.config().limits(), keptStoreUrl(),
        (ServerCallStreamObserver<dev.offload.proto.v1.BatchResult>) results);
  }

  @Override
  public void watchJob(WatchJobRequest request, StreamObserver<JobEvent> response) {
    var events = (ServerCallStreamObserver<JobEvent>) response;
    ClientGone gone = new ClientGone(events); // now: gRPC takes the handler only during this call
    int maxWatchers = supervisor.config().limits().maxWatchersPerJob();
    var local = supervisor.jobs().find(request.getJobId());
    if (local.isEmpty() && cluster != null) {
      cluster.follow(request.getJobId(), ClusterQueries.then(job -> stream(job, events, gone, maxWatchers, keptStoreUrl()),
          response::onError), this::notFound);
      return;
    }
    if (local.isEmpty()) {
      response.onError(notFound(request.getJobId()));
      return;
    }
    stream(local.get(), events, gone, maxWatchers, keptStoreUrl());
  }

  /** Where the jobs a shutdown leaves queued are kept, as a message names it. */
  private String keptStoreUrl() {
    return StoreUrl.redact(supervisor.store().url());
  }

  @Override
  public void getJob(GetJobRequest request, StreamObserver<GetJobResponse> response) {
    var local = supervisor.jobs().find(request.getJobId());
    if (cluster != null && (local.isEmpty() || !cluster.knowsBest(local.get()))) {
      cluster.get(request.getJobId(), ClusterQueries.then(job -> {
        response.onNext(GetJobResponse.newBuilder().setJob(job).build());
        response.onCompleted();
      }, response::onError), this::notFound);
      return;
    }
    try {
      response.onNext(GetJobResponse.newBuilder().setJob(find(request.getJobId()).toProto()).build());
      response.onCompleted();
    } catch (StatusRuntimeException e) {
      response.onError(e);
    }
  }

  @Override
  public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> response) {
    JobState state = request.getState() == JobState.JOB_STATE_UNSPECIFIED ? null : request.getState();
    if (state == JobState.UNRECOGNIZED) {
      response.onError(Status.INVALID_ARGUMENT.withDescription("unknown job state " + request.getStateValue()).asRuntimeException());
      return;
    }
    if (cluster != null) {
      cluster.list(state, supervisor.config().keepFinished(), ClusterQueries.then(found -> {
        response.onNext(ListJobsResponse.newBuilder().addAllJobs(found).build());
        response.onCompleted();
      }, response::onError));
      return;
    }
    var jobs = ListJobsResponse.newBuilder();
    supervisor.jobs().list(state).forEach(j -> jobs.addJobs(j.toProto()));
    response.onNext(jobs.build());
    response.onCompleted();
  }

  @Override
  public void cancelJob(CancelJobRequest request, StreamObserver<CancelJobResponse> response) {
    var local = supervisor.jobs().find(request.getJobId());
    if (cluster != null && (local.isEmpty() || !cluster.knowsBest(local.get()))) {
      cluster.cancel(request.getJobId(), ClusterQueries.then(job -> {
        response.onNext(CancelJobResponse.newBuilder().setJob(job).build());
        response.onCompleted();
      }, response::onError), this::notFound);
      return;
    }
    try {
      Job job = find(request.getJobId());
      supervisor.dispatcher().cancel(job);
      response.onNext(CancelJobResponse.newBuilder().setJob(job.toProto()).build());
      response.onCompleted();
    } catch (StatusRuntimeException e) {
      response.onError(e);
    }
  }

  @Override
  public void getPoolStatus(GetPoolStatusRequest request, StreamObserver<GetPoolStatusResponse> response) {
    var status = GetPoolStatusResponse.newBuilder()
        .setQueueDepth(supervisor.dispatcher().queueDepth())
        .setMaxQueue(supervisor.dispatcher().maxQueue())
        .setUptimeMs(supervisor.uptimeMillis())
        .setShuttingDown(supervisor.isShuttingDown())
        .setJobsPerSecondLastMinute(supervisor.metrics().jobsPerSecondLastMinute())
        .addAllHandlerTimes(supervisor.metrics().handlerTimes());
    for (SlotStatus slot : supervisor.pool().status()) {
      status.addWorkers(workerStatus(slot));
    }
    Map<String, Long> counts = supervisor.jobs().countByState().entrySet().stream()
        .collect(Collectors.toMap(e -> e.getKey().name(), Map.Entry::getValue));
    status.putAllJobsByState(counts);
    if (cluster != null) {
      // A shared store's size and jobs are read from the database: on the query's thread, not this one.
      cluster.cluster(ClusterQueries.then(found -> {
        response.onNext(status.setStore(storeStatus()).addAllServices(found.services()).setSharedQueueDepth(found.sharedQueueDepth())
            .build());
        response.onCompleted();
      }, response::onError));
      return;
    }
    response.onNext(status.setStore(storeStatus()).build());
    response.onCompleted();
  }

  private StoreStatus storeStatus() {
    Store store = supervisor.store();
    StoreException failure = store.failure();
    return StoreStatus.newBuilder()
        .setKind(store.kind())
        .setUrl(StoreUrl.redact(store.url()))
        .setSizeBytes(store.sizeBytes())
        .setJobsKept(store.jobsKept())
        .setDurability(store.recordsNothing() ? "" : supervisor.config().durability().name().toLowerCase(java.util.Locale.ROOT))
        .setFailure(failure == null ? "" : bounded(failure.getMessage()))
        .setHeldWrites(store.heldWrites())
        .build();
  }

  @Override
  public void listHandlers(ListHandlersRequest request, StreamObserver<ListHandlersResponse> response) {
    response.onNext(ListHandlersResponse.newBuilder().addAllHandlers(supervisor.pool().handlers()).build());
    response.onCompleted();
  }

  @Override
  public void shutdown(ShutdownRequest request, StreamObserver<ShutdownResponse> response) {
    if (request.getGraceMs() < 0) {
      response.onError(Status.INVALID_ARGUMENT.withDescription("grace_ms must be >= 0, got " + request.getGraceMs()).asRuntimeException());
      return;
    }
    response.onNext(ShutdownResponse.newBuilder()
        .setRunningJobs(supervisor.dispatcher().runningCount())
        .setQueuedJobs(supervisor.dispatcher().queueDepth())
        .setQueuedKept(supervisor.keepsQueued(request.getCancelQueued()))
        .build());
    response.onCompleted();
    supervisor.shutdown(request.getGraceMs() == 0 ? null : Duration.ofMillis(request.getGraceMs()), request.getCancelQueued());
  }

  /**
   * Validates a request, hands the job to the dispatcher, which records it, and tells {@code
   * accepted} once the store has committed it; or tells {@code refused} why not (invalid, queue
   * full, shutting down, or a store that could not record it). Exactly one of them is told: on
   * this thread when the store records nothing or the job is refused at once, else on the I/O
   * thread when the store's commit comes back. Nothing runs that the store will not know of
   * first (see {@link dev.offload.supervisor.job.Dispatcher}).
   *
   * <p>A request whose idempotency key the service holds creates nothing and never reaches the
   * dispatcher: it follows the job that has the key (see {@link #follow}).
   *
   * <p>A valid job whose input does not fit in what {@code --pending-memory} leaves is refused
   * with RESOURCE_EXHAUSTED.
   */
  void accept(SubmitJobRequest request, Consumer<Job> accepted, Consumer<StatusRuntimeException> refused) {
    accept(request, NOT_HELD, accepted, refused, null);
  }

  /** For {@link #accept(SubmitJobRequest, long, Consumer, Consumer, LongConsumer)}: nothing held for the request yet. */
  static final long NOT_HELD = -1;

  /**
   * As {@link #accept(SubmitJobRequest, Consumer, Consumer)}, except that a valid job whose input
   * does not fit in what {@code --pending-memory} leaves is neither created nor refused: {@code
   * noRoom} is told its input's bytes instead, on this thread, to wait for them ({@link
   * PendingInputs#whenFits}) and submit it again with them held.
   *
   * @param heldBytes the bytes of {@code --pending-memory} held for this request already, or {@link
   *     #NOT_HELD}: the job takes them, or they are given back
   * @param noRoom null to refuse such a job
   */
  void accept(SubmitJobRequest request, long heldBytes, Consumer<Job> accepted, Consumer<StatusRuntimeException> refused,
      LongConsumer noRoom) {
    Room room = new Room(supervisor.pendingInputs(), heldBytes == NOT_HELD ? 0 : heldBytes);
    try {
      accept(request, heldBytes != NOT_HELD, room, accepted, refused, noRoom);
    } catch (RuntimeException | Error e) {
      room.giveBack(); // or the waits for room behind it would wait for good
      throw e;
    }
  }

  /**
   * The bytes of {@code --pending-memory} one acceptance holds and has not handed on yet: to its
   * job, which gives them back when it ends, or back to the budget.
   */
  private static final class Room {
    private final PendingInputs pending;
    private long bytes;

    Room(PendingInputs pending, long bytes) {
      this.pending = pending;
      this.bytes = bytes;
    }

    /** Holds {@code n} if they fit; see {@link PendingInputs#tryHold}. */
    boolean tryHold(long n) {
      if (!pending.tryHold(n)) {
        return false;
      }
      bytes = n;
      return true;
    }

    void giveBack() {
      pending.release(bytes);
      bytes = 0;
    }

    void handTo(Job job) {
      if (!job.holdPendingInput(bytes)) {
        pending.release(bytes); // it ended already: cancelled by its id, which a client guessed, before it was submitted
      }
      bytes = 0;
    }
  }

  private void accept(SubmitJobRequest request, boolean held, Room room, Consumer<Job> accepted,
      Consumer<StatusRuntimeException> refused, LongConsumer noRoom) {
    String key = request.getIdempotencyKey();
    if (!key.isEmpty()) {
      String problem = IdempotencyKeys.problem(key);
      if (problem != null) {
        room.giveBack();
        refused.accept(invalid(problem + ": " + quoted(key)));
        return;
      }
      // A repeated submission of a held key is answered from it, before the validation a new job
      // gets: what the service takes may have changed since (a handler jar, a size limit), and the
      // job exists all the same.
      var holder = supervisor.jobs().findByKey(key);
      if (holder.isPresent() && holder.get().state() != JobState.CANCELLED) { // a cancelled job's key is free: see JobStore#admit
        room.giveBack();
        follow(holder.get(), request, accepted, refused);
        return;
      }
    }
    String input;
    try {
      input = validInput(request);
    } catch (StatusRuntimeException e) {
      room.giveBack();
      refused.accept(e);
      return;
    }
    if (!held) {
      long bytes = PendingInputs.bytesOf(input);
      if (!room.tryHold(bytes)) {
        if (noRoom != null) {
          noRoom.accept(bytes);
        } else {
          refused.accept(noRoomFor(bytes, supervisor.pendingInputs()));
        }
        return;
      }
    }
    JobStore.Admission admission;
    try {
      admission = admit(request, input);
    } catch (StoreException e) {
      room.giveBack();
      refused.accept(storeRefusal(e)); // a shared store without job ids at hand: see SharedStore#newId
      return;
    }
    if (!admission.created()) {
      room.giveBack();
      follow(admission.job(), request, accepted, refused); // the same key came at the same time
      return;
    }
    Job job = admission.job();
    room.handTo(job);
    Acceptance acceptance = new Acceptance(job, request, accepted, refused);
    try {
      submit(job, acceptance);
    } catch (StatusRuntimeException e) {
      acceptance.refuse(e);
    } catch (RuntimeException e) {
      // A fault of this service's, not of the request: the job is forgotten (its key freed, so
      // that submissions waiting on it are told), and the client is told.
      discard(job);
      acceptance.refuse(Status.INTERNAL.withDescription(bounded("the service could not accept the job: " + e
          + "; this is a bug in offload, please report it")).withCause(e).asRuntimeException());
    }
  }

  /** One job's acceptance: refused at once, or told when its record is committed, whichever comes first decides. */
  private final class Acceptance implements Store.Completion {
    private final Job job;
    private final SubmitJobRequest request;
    private final Consumer<Job> accepted;
    private final Consumer<StatusRuntimeException> refused;
    private final AtomicBoolean decided = new AtomicBoolean();

    Acceptance(Job job, SubmitJobRequest request, Consumer<Job> accepted, Consumer<StatusRuntimeException> refused) {
      this.job = job;
      this.request = request;
      this.accepted = accepted;
      this.refused = refused;
    }

    void refuse(StatusRuntimeException e) {
      if (decided.compareAndSet(false, true)) {
        refused.accept(e);
        job.acceptanceDecided(e);
      }
    }

    @Override
    public void done(StoreException failure) {
      if (!decided.compareAndSet(false, true)) {
        return;
      }
      if (failure == null) {
        accepted.accept(job);
        job.acceptanceDecided(null);
        return;
      }
      // Not accepted after all: the client is told so, and the job must not run (it may have been
      // sent already) or stay queued.
      supervisor.dispatcher().withdraw(job);
      discard(job);
      if (failure instanceof KeyTakenException taken) {
        // Another service of the cluster accepted a job with this key first: this request follows it.
        job.acceptanceDecided(Status.ABORTED.withDescription(job.id() + " was not made: its idempotency key is "
            + "held by j-" + taken.holder().id()).asRuntimeException());
        follow(supervisor.jobs().follow(taken.holder()), request, accepted, refused);
        return;
      }
      StatusRuntimeException refusal = storeRefusal(failure);
      refused.accept(refusal);
      job.acceptanceDecided(refusal);
    }
  }

  /**
   * Answers a request whose idempotency key {@code held} has: with that job, once its acceptance
   * is decided (at once for a job accepted already), or with its refusal; so a repeated request
   * is never told of a job that a crash could lose ("accepted means committed" holds for it too).
   * A request with another handler or input is refused: a key names one job.
   */
  private void follow(Job held, SubmitJobRequest request, Consumer<Job> accepted, Consumer<StatusRuntimeException> refused) {
    String input = request.getInputJson().isBlank() ? "null" : request.getInputJson();
    String heldInput = held.inputJson();
    // A finished job whose data was dropped has no input to compare: its handler alone must match.
    boolean sameInput = heldInput.equals(input) || held.isDataDropped();
    if (!held.handler().equals(request.getHandler()) || !sameInput) {
      String differs = !held.handler().equals(request.getHandler())
          ? "handler " + quoted(held.handler()) + ", not " + quoted(request.getHandler())
          : "another input";
      refused.accept(Status.FAILED_PRECONDITION.withDescription(bounded("the idempotency key " + quoted(request.getIdempotencyKey())
              + " was given to job " + held.id() + " already, which has " + differs + "; a key names one job: give this job a key"
              + " of its own, or 'offload status " + held.id() + "' shows the job that has it"))
          .asRuntimeException(RefusalTrailers.of(RefusalTrailers.IDEMPOTENCY_KEY_REUSED)));
      return;
    }
    held.whenAccepted(() -> accepted.accept(held), refusal -> refused.accept(refusal instanceof StatusRuntimeException status
        ? status
        : Status.UNAVAILABLE.withDescription(bounded(held.id() + ", the job with this idempotency key, was not accepted: "
            + refusal.getMessage())).asRuntimeException()));
  }

  /**
   * The refusal of a job its store could not record: RESOURCE_EXHAUSTED when the store's disk is
   * full (a resource that freeing space gives back, as a full queue's room does), UNAVAILABLE when
   * it cannot be written at all for now (read-only, a failing disk); both with the reason {@link
   * RefusalTrailers#STORE_CANNOT_WRITE}. Either way the client may submit the job again later.
   */
  static StatusRuntimeException storeRefusal(StoreException failure) {
    Status status = failure.diskFull() ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE;
    return status.withDescription(bounded(failure.getMessage() + "; the job was not accepted: submit it again once the store"
        + " can write (offload stats shows whether it can)")).asRuntimeException(RefusalTrailers.of(RefusalTrailers.STORE_CANNOT_WRITE));
  }

  /** Hands a created job to the dispatcher, or forgets it and says why it was refused. */
  private void submit(Job job, Store.Completion recorded) {
    try {
      supervisor.dispatcher().submit(job, recorded);
    } catch (JobRejectedException e) {
      discard(job);
      Status status = switch (e.reason()) {
        case QUEUE_FULL -> Status.RESOURCE_EXHAUSTED;
        case SHUTTING_DOWN -> Status.UNAVAILABLE;
      };
      String reason = switch (e.reason()) {
        case QUEUE_FULL -> RefusalTrailers.QUEUE_FULL;
        case SHUTTING_DOWN -> RefusalTrailers.SHUTTING_DOWN;
      };
      throw status.withDescription(e.getMessage()).asRuntimeException(RefusalTrailers.of(reason));
    }
  }

  /** Forgets a job that was not accepted after all, and gives back what its input held of --pending-memory. */
  private void discard(Job job) {
    supervisor.jobs().discard(job);
    supervisor.pendingInputs().release(job.takePendingInput());
  }

  /** The refusal of a job whose input does not fit in what --pending-memory leaves now. */
  private static StatusRuntimeException noRoomFor(long bytes, PendingInputs pending) {
    return Status.RESOURCE_EXHAUSTED.withDescription("the service holds " + mib(pending.held()) + " of input for jobs not yet ended,"
        + " and this job's " + mib(bytes) + " would pass its limit of " + mib(pending.budget()) + " (--pending-memory); retry once"
        + " some have ended, send smaller inputs (a file's path instead of its contents), or start the service with a larger"
        + " --pending-memory").asRuntimeException(RefusalTrailers.of(RefusalTrailers.QUEUE_FULL));
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
  }

  /** A request's input, checked with everything else a new job is checked for; the job is not made yet. */
  private String validInput(SubmitJobRequest request) {
    String handler = request.getHandler();
    if (supervisor.pool().handlers().stream().noneMatch(h -> h.getName().equals(handler))) {
      List<String> known = supervisor.pool().handlers().stream().map(HandlerInfo::getName).toList();
      String what = handler.isEmpty() ? "a job needs a handler" : "unknown handler " + quoted(handler);
      throw Status.INVALID_ARGUMENT.withDescription(bounded(what + "; known handlers: " + String.join(", ", known)))
          .asRuntimeException(RefusalTrailers.unknownHandler(known));
    }
    String input = request.getInputJson().isBlank() ? "null" : request.getInputJson();
    Limits limits = supervisor.config().limits();
    int maxInput = limits.maxInputBytes();
    // A char is at most 3 UTF-8 bytes: only inputs that might be over the limit are measured.
    if ((long) input.length() * 3 > maxInput) {
      long bytes = Utf8.length(input);
      if (bytes > maxInput) {
        throw invalid("the input is " + bytes + " bytes of JSON; the service takes at most " + maxInput
            + " (pass a file's path instead, or start the service with a larger --max-input-size)");
      }
    }
    try {
      Json.parse(input);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage());
    }
    if (request.getTimeoutMs() < 0) {
      throw invalid("timeout_ms must be >= 0, got " + request.getTimeoutMs());
    }
    if (request.getRetries() < 0) {
      throw invalid("retries must be >= 0, got " + request.getRetries());
    }
    if (request.getRetries() > limits.maxRetries()) {
      throw invalid("retries " + request.getRetries() + " is more than this service allows (" + limits.maxRetries()
          + "): each retry can cost a worker process; ask for fewer, or start the service with a larger --max-retries");
    }
    if (request.getDeadlineMs() < 0) {
      throw invalid("deadline_ms must be >= 0 (0 for none), got " + request.getDeadlineMs());
    }
    return input;
  }

  /**
   * Creates a request's job from its valid input, QUEUED, recorded nowhere yet; or finds the job
   * that has its idempotency key, held already.
   */
  private JobStore.Admission admit(SubmitJobRequest request, String input) {
    long timeout = request.getTimeoutMs() > 0 ? request.getTimeoutMs() : supervisor.config().jobTimeout().toMillis();
    String key = request.getIdempotencyKey().isEmpty() ? null : request.getIdempotencyKey();
    return supervisor.jobs().admit(request.getHandler(), input, timeout, request.getDeadlineMs(), request.getRetries(), key);
  }

  /**
   * Streams a job's events to a client until the job ends or the client goes away; refused with
   * RESOURCE_EXHAUSTED if {@code maxWatchers} already follow the job. If the service stops and
   * leaves the job queued for the next one on its store, the stream ends UNAVAILABLE, saying so
   * ({@link KeptJobs}).
   */
  private static void stream(Job job, ServerCallStreamObserver<JobEvent> response, ClientGone gone, int maxWatchers,
      String storeUrl) {
    Job.Listener listener = new Job.Listener() {
      @Override
      public void event(JobEvent event) {
        response.onNext(event);
        if (event.hasJob() && Job.isTerminal(event.getJob().getState())) {
          response.onCompleted();
        }
      }

      @Override
      public void kept(Job kept) {
        response.onError(KeptJobs.status(List.of(kept.id()), storeUrl, false));
      }
    };
    gone.then(() -> job.unsubscribe(listener));
    if (!job.trySubscribe(listener, maxWatchers)) {
      response.onError(Status.RESOURCE_EXHAUSTED
          .withDescription(job.id() + " is followed by " + maxWatchers + " streams already, the most this service allows per job;"
              + " use 'offload status' to poll it, or start the service with a larger --max-watchers-per-job")
          .asRuntimeException());
    }
  }

  /**
   * What to do when a streaming call's client goes away: the handler must be set while the call
   * is made, before its job is known (a store commits the job later), so it runs what it is given
   * later, or at once if the client has gone already.
   */
  private static final class ClientGone {
    private Runnable action;
    private boolean gone;

    ClientGone(ServerCallStreamObserver<?> call) {
      call.setOnCancelHandler(this::happened);
    }

    private void happened() {
      Runnable run;
      synchronized (this) {
        gone = true;
        run = action;
      }
      if (run != null) {
        run.run();
      }
    }

    void then(Runnable run) {
      boolean now;
      synchronized (this) {
        action = run;
        now = gone;
      }
      if (now) {
        run.run();
      }
    }
  }

  private Job find(String id) {
    return supervisor.jobs().find(id).orElseThrow(() -> notFound(id));
  }

  private StatusRuntimeException notFound(String id) {
    return Status.NOT_FOUND
        .withDescription("no job " + quoted(id) + "; 'offload list' shows the jobs this service holds (it keeps the last "
            + supervisor.config().keepFinished() + " finished jobs, oldest expire first; see serve --keep-finished)")
        .asRuntimeException();
  }

  private WorkerStatus workerStatus(SlotStatus slot) {
    var status = WorkerStatus.newBuilder()
        .setSlot(slot.slot())
        .setRestarts(slot.restarts())
        .setLastRestartReason(slot.lastRestartReason());
    if (slot.worker() == null) {
      return status.setState(WorkerState.STARTING).build();
    }
    var job = supervisor.dispatcher().jobOn(slot.worker());
    WorkerState state = slot.stopping() ? WorkerState.STOPPING : job.isPresent() ? WorkerState.BUSY : WorkerState.IDLE;
    return status.setPid(slot.worker().pid())
        .setState(state)
        .setCurrentJobId(job.map(Job::id).orElse(""))
        .setJobsDone(slot.worker().jobsDone())
        .setUptimeMs(slot.worker().uptimeMillis())
        .setRssBytes(slot.worker().rssBytes())
        .setCpuMs(slot.worker().cpuTime().toMillis())
        .setJobsHeld(supervisor.dispatcher().jobsHeldBy(slot.worker()))
        .build();
  }

  private static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(bounded(message)).asRuntimeException(RefusalTrailers.of(RefusalTrailers.INVALID_JOB));
  }

  /** Longest part of a client's value that an error message repeats. */
  private static final int QUOTED_CHARS = 80;
  /** A status description travels in a header, which clients bound (8 KiB by default). */
  private static final int DESCRIPTION_CHARS = 1_000;

  /**
   * A client's value in an error message, cut short: a message that repeated a huge value would
   * not fit the header it travels in, and the client would see a transport error instead.
   */
  static String quoted(String value) {
    return value.length() <= QUOTED_CHARS
        ? "'" + value + "'"
        : "'" + value.substring(0, QUOTED_CHARS) + "…' (" + value.length() + " characters)";
  }

  private static String bounded(String message) {
    return message.length() <= DESCRIPTION_CHARS ? message : message.substring(0, DESCRIPTION_CHARS) + "…";
  }
}
