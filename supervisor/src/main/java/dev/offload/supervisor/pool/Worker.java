package dev.offload.supervisor.pool;

import dev.offload.proto.v1.CancelJob;
import dev.offload.proto.v1.DescribeWorkerRequest;
import dev.offload.proto.v1.DescribeWorkerResponse;
import dev.offload.proto.v1.ExecuteJobs;
import dev.offload.proto.v1.HandlerInfo;
import dev.offload.proto.v1.JobProgress;
import dev.offload.proto.v1.JobResult;
import dev.offload.proto.v1.Ping;
import dev.offload.proto.v1.SupervisorMessage;
import dev.offload.proto.v1.WorkerGrpc;
import dev.offload.proto.v1.WorkerMessage;
import dev.offload.wire.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One live worker process, as the supervisor holds it: its channel and the one long-lived stream
 * that carries jobs down and events up. Events arrive on the channel's I/O thread and go straight
 * to the {@link Listener}, with no thread hop in between.
 *
 * <p>A worker is disposable. When its process ends, for whatever reason, the listener hears
 * {@link Listener#onLost} exactly once, with the cause; a deliberate {@link #kill} is told apart
 * from a death.
 */
public final class Worker {

  /** Hears what happens on a worker. Called on I/O or process-reaper threads: must not block. */
  public interface Listener {
    void onProgress(Worker worker, String jobId, JobProgress progress);

    /** Results of jobs that ended, in the order they ended; often several at once. */
    void onResults(Worker worker, List<JobResult> results);

    /**
     * The process has ended; {@code loss} says how, in a few words too ("exited with status 7",
     * "was stopped by the supervisor (...)"), and whether the supervisor ended it.
     */
    void onLost(Worker worker, WorkerLoss loss);
  }

  private static final Duration KILL_ESCALATION = Duration.ofSeconds(1);

  /** Room, beyond the largest output, for the rest of a result message (its id, error, batch). */
  private static final long MESSAGE_OVERHEAD_BYTES = 1 << 20;

  private final WorkerProcess process;
  private final ManagedChannel channel;
  private final Listener listener;
  private final List<HandlerInfo> handlers;
  private final long readyAtMillis = System.currentTimeMillis();
  private final AtomicLong jobsDone = new AtomicLong();
  private final AtomicLong pingSequence = new AtomicLong();
  private final AtomicBoolean lost = new AtomicBoolean();
  private final CompletableFuture<Void> gone = new CompletableFuture<>();
  private volatile long lastPongNanos = System.nanoTime();
  /**
   * Where the running job's lines begin in the worker's log: where the log ended when the last
   * result before it came (or when the worker was ready), as the worker said. Written on the I/O
   * thread, read by whoever reports the worker's loss.
   */
  private volatile long runningJobLogStart;
  private volatile long rssBytes;
  private final AtomicBoolean retirementRequested = new AtomicBoolean();
  private volatile boolean retired;
  private volatile String killReason;
  private StreamObserver<SupervisorMessage> downstream;

  private Worker(WorkerProcess process, ManagedChannel channel, Listener listener, List<HandlerInfo> handlers) {
    this.process = process;
    this.channel = channel;
    this.listener = listener;
    this.handlers = handlers;
  }

  /**
   * Connects to a ready worker process: asks for its handlers (bounded by {@code timeout}) and
   * opens its stream. Blocks; call it on a virtual thread.
   *
   * @param maxOutputBytes the pool's output limit, which the worker enforces; its messages may be
   *     that large and a little more
   */
  static Worker connect(WorkerProcess process, EventLoopGroup group, Listener listener, Duration timeout, long maxOutputBytes)
      throws WorkerStartException {
    int maxMessage = (int) Math.min(Integer.MAX_VALUE, maxOutputBytes + MESSAGE_OVERHEAD_BYTES);
    // The worker lets in only its parent process, this one (it reads each connection's peer), so
    // a call carries nothing that proves who sends it.
    ManagedChannel channel = UnixSockets.channelBuilder(process.socket(), group)
        .directExecutor()
        .maxInboundMessageSize(maxMessage)
        .build();
    DescribeWorkerResponse description;
    try {
      description =
          WorkerGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
              .describeWorker(DescribeWorkerRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      channel.shutdownNow();
      throw new WorkerStartException(
          "worker pid " + process.pid() + " did not answer on " + process.socket() + ": " + e.getStatus() + process.log().quote(10));
    }
    Worker worker = new Worker(process, channel, listener, description.getHandlersList());
    worker.runningJobLogStart = description.getLogEnd();
    worker.downstream = WorkerGrpc.newStub(channel).connect(worker.new Upstream());
    process.process().onExit().thenRun(worker::exited);
    return worker;
  }

  public long pid() {
    return process.pid();
  }

  public int slot() {
    return process.slot();
  }

  public List<HandlerInfo> handlers() {
    return handlers;
  }

  public long jobsDone() {
    return jobsDone.get();
  }

  public long uptimeMillis() {
    return System.currentTimeMillis() - readyAtMillis;
  }

  public WorkerLog log() {
    return process.log();
  }

  /**
   * The tail of what the worker wrote to its log since its last result (or since it was ready),
   * that is while running the job it runs now, for an error message (see {@link WorkerLog#quote}):
   * an earlier job's lines, a failure's stack trace say, are no explanation of a later death.
   */
  public String quoteLogSinceLastResult(int lines) {
    return process.log().quote(lines, runningJobLogStart);
  }

  /** Sends jobs, to run in this order after those the worker holds already. */
  public void execute(ExecuteJobs jobs) {
    send(SupervisorMessage.newBuilder().setExecute(jobs).build());
  }

  /** Counts a finished job, for stats and recycling. */
  public void countJobDone() {
    jobsDone.incrementAndGet();
  }

  /** Asks the worker to stop the job with this id; a job that has already ended ignores it. */
  public void cancel(String jobId) {
    send(SupervisorMessage.newBuilder().setCancel(CancelJob.newBuilder().setJobId(jobId)).build());
  }

  /** Sends a health check; the answer updates {@link #lastAnswerNanos()}. */
  public void ping() {
    send(SupervisorMessage.newBuilder().setPing(Ping.newBuilder().setSequence(pingSequence.incrementAndGet())).build());
  }

  /** When the worker last answered a health check (or became ready), as a {@link System#nanoTime} reading. */
  long lastAnswerNanos() {
    return lastPongNanos;
  }

  /** The resident memory of the process when it was last sampled; 0 before the first sample. */
  public long rssBytes() {
    return rssBytes;
  }

  /** The CPU time the process has used so far; zero where the platform does not tell. */
  public Duration cpuTime() {
    return process.process().info().totalCpuDuration().orElse(Duration.ZERO);
  }

  /** Reads the process's resident memory now (from /proc; a small file read). */
  void sampleMemory() {
    ProcessMemory.rssBytes(pid()).ifPresent(bytes -> rssBytes = bytes);
  }

  /** True the first time it is called: the caller then starts this worker's replacement. */
  boolean requestRetirement() {
    return retirementRequested.compareAndSet(false, true);
  }

  /**
   * Whether this worker's replacement is ready, so it must take no more jobs: the dispatcher
   * hands it to {@link WorkerPool#closeRetired} instead of to a job.
   */
  public boolean isRetired() {
    return retired;
  }

  void markRetired() {
    retired = true;
  }

  /**
   * False once the process has ended or its end has begun to be announced; from then on the
   * worker must get no job. Read it under the dispatcher's lock to agree with {@link
   * Listener#onLost}, which is announced after this turns false.
   */
  public boolean isAlive() {
    return !lost.get() && process.process().isAlive();
  }

  /**
   * Ends the process on purpose: SIGTERM, then SIGKILL if it is still alive a second later (a
   * stopped or wedged JVM ignores the first). {@link Listener#onLost} follows with this reason.
   */
  public void kill(String reason) {
    if (killReason == null) {
      killReason = reason;
    }
    Process p = process.process();
    p.destroy();
    CompletableFuture.delayedExecutor(KILL_ESCALATION.toMillis(), TimeUnit.MILLISECONDS)
        .execute(() -> {
          if (p.isAlive()) {
            p.destroyForcibly();
          }
        });
  }

  /**
   * Asks the worker to exit by ending its stream; it exits on its own. Returns at once; the
   * process's end is announced through {@link Listener#onLost} as usual.
   */
  void close(String reason) {
    if (killReason == null) {
      killReason = reason;
    }
    synchronized (this) {
      try {
        downstream.onCompleted();
      } catch (IllegalStateException alreadyEnded) {
        // The stream is already over; the process is on its way out too.
      }
    }
  }

  /** Frees the channel once the process is gone. */
  void releaseChannel() {
    channel.shutdownNow();
  }

  /** Completes once the process has ended and {@link Listener#onLost} has returned. */
  CompletableFuture<Void> gone() {
    return gone;
  }

  Process process() {
    return process.process();
  }

  private void send(SupervisorMessage message) {
    // Several threads send (dispatch, cancel, health); a stream takes one writer at a time.
    synchronized (this) {
      try {
        downstream.onNext(message);
      } catch (IllegalStateException streamOver) {
        // The stream has ended because the worker is gone; onLost tells the rest.
      }
    }
  }

  private void exited() {
    if (!lost.compareAndSet(false, true)) {
      return;
    }
    int status = process.process().exitValue();
    WorkerLoss loss = killReason != null
        ? new WorkerLoss(RestartCause.KILLED_BY_SUPERVISOR, "was stopped by the supervisor (" + killReason + ")")
        : ExitCause.of(status, process.log());
    releaseChannel();
    try {
      listener.onLost(this, loss);
    } finally {
      gone.complete(null);
    }
  }

  @Override
  public String toString() {
    return "worker " + process.slot() + " (pid " + process.pid() + ")";
  }

  /** Events from the worker, on the channel's I/O thread. */
  private final class Upstream implements StreamObserver<WorkerMessage> {
    @Override
    public void onNext(WorkerMessage message) {
      switch (message.getMessageCase()) {
        case RESULTS -> {
          List<JobResult> results = message.getResults().getResultsList();
          noteLogEnd(results);
          listener.onResults(Worker.this, results);
        }
        case PROGRESS ->
            listener.onProgress(Worker.this, message.getProgress().getJobId(), message.getProgress().getProgress());
        case PONG -> lastPongNanos = System.nanoTime();
        case MESSAGE_NOT_SET -> {
          // A newer worker's message; nothing to do with it.
        }
      }
    }

    /** The latest end of the log that the results tell, before the jobs after them may be lost. */
    private void noteLogEnd(List<JobResult> results) {
      for (int i = results.size() - 1; i >= 0; i--) {
        long end = results.get(i).getLogEnd();
        if (end > 0) {
          runningJobLogStart = end;
          return;
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      streamEnded();
    }

    @Override
    public void onCompleted() {
      streamEnded();
    }

    /**
     * A worker whose stream ends is of no more use. Usually its process has just died and onExit
     * is about to say so; if it is still alive a moment later, it is ended here.
     */
    private void streamEnded() {
      CompletableFuture.delayedExecutor(KILL_ESCALATION.toMillis(), TimeUnit.MILLISECONDS)
          .execute(() -> {
            if (process.process().isAlive()) {
              kill("its control stream ended");
            }
          });
    }
  }
}
