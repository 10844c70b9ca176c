package dev.offload.client;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job the service has accepted, from {@link Offloader#submit}: its id, its state and
 * progress as they change, a way to cancel it, and its result, as a blocking {@link #get()} or as
 * a {@link #future()}. Thread-safe: any thread may wait on, look at or cancel the same handle.
 *
 * <p><b>How it ends.</b> The result is the job's output, read as the type asked for. Otherwise
 * {@link #get()} throws, and {@link #future()} completes exceptionally with: {@link
 * JobFailedException} (the job FAILED: the handler threw, with its exception class and stack
 * trace), {@link JobTimedOutException} (it ran past its {@link JobOptions#withTimeout timeout}
 * or {@link JobOptions#withDeadline deadline}), {@link JobCancelledException} (it was cancelled),
 * {@link OutputTypeException} (it succeeded, but its output does not fit the type), or {@link
 * ServiceUnavailableException} (the connection was lost while waiting, and the job may still run;
 * or the service stopped with the job still queued and left it queued in its store, to run when a
 * service starts again on that store: the message names the job, whose result can then be fetched
 * by its id).
 *
 * <p><b>Cancellation.</b> {@link #cancel()} asks the service to cancel the job: a queued job is
 * dropped at once, a running one is told to stop and its worker killed if it does not stop within
 * the service's cancel grace; the job then ends CANCELLED, unless it ended first. Interrupting a
 * thread that waits in {@link #get()} or {@link #get(Duration)} (or in {@link Offloader#run},
 * which waits the same way) cancels the job too, so {@code ExecutorService.shutdownNow()}, or
 * anything else that interrupts its tasks, stops the work they started: the waiting call sends the
 * cancel, waits up to a few seconds for the service to take it, and then throws {@link
 * InterruptedException} (with the thread's interrupt status cleared, as that exception
 * convention has it). The handle's own {@link #future()} completing any other way than by the
 * job's end cancels the job too: {@code future().cancel(true)} (the future then reports {@code
 * isCancelled()} at once, without waiting for the service), {@code future().orTimeout(...)} when
 * its time passes, {@code completeOnTimeout}, or your code completing it.
 *
 * <p><b>What does not cancel the job.</b> Futures derived from {@link #future()} ({@code
 * thenApply}, {@code thenCompose}, {@code exceptionally}, ...) are plain {@link
 * CompletableFuture}s: cancelling one, or an {@code orTimeout} on one passing, completes that
 * future only, and the job runs on. {@code future().get()} interrupted does not cancel the job
 * either, nor does {@link #get(Duration)} timing out. To bound a job's time, give it a {@link
 * JobOptions#withDeadline deadline}: the service then stops it when the deadline passes, even if
 * this program has gone.
 *
 * @param <O> the type of the job's output
 */
public final class JobHandle<O> {

  private static final Logger LOG = LoggerFactory.getLogger(JobHandle.class);

  /** How long a wait that was interrupted waits for the service to take its job's cancel. */
  static final Duration CANCEL_WAIT = Duration.ofSeconds(5);

  /** Reads a succeeded job's output; throws {@link OutputTypeException} if it cannot. */
  interface OutputReader<O> {
    O read(String jobId, String outputJson);
  }

  private final String handler;
  private final ServerTarget target;
  /** Sends a CancelJob for an id; the future completes when the service has answered, however. */
  private final Function<String, CompletableFuture<Void>> cancelJob;
  private final OutputReader<O> output;
  private final Consumer<Progress> progressListener;
  /** The job's id once the service has accepted it; its refusal otherwise. */
  private final CompletableFuture<String> accepted = new CompletableFuture<>();
  private final Result result = new Result();
  private final StreamObserver<JobEvent> events = new Events();
  private volatile JobState state = JobState.QUEUED;
  private volatile Progress progress;
  /** Set before the job's stream completes the result, so that only other completions cancel the job. */
  private volatile boolean endedByStream;
  /** Guarded by {@code this}: set once a cancel is asked for; done when the service has answered it or the job has ended. */
  private CompletableFuture<Void> cancelAnswered;
  /** Guarded by {@code this}: the id, once the first event has come. */
  private String jobId;
  /** Guarded by {@code this}: whether the CancelJob has gone out. */
  private boolean cancelSent;

  JobHandle(String handler, ServerTarget target, Function<String, CompletableFuture<Void>> cancelJob, OutputReader<O> output,
      Consumer<Progress> progressListener) {
    this.handler = handler;
    this.target = target;
    this.cancelJob = cancelJob;
    this.output = output;
    this.progressListener = progressListener;
    // Whatever else completes the result (cancel, orTimeout, the caller's own complete) ends the
    // caller's interest in the job: the job should not run on unseen.
    result.whenComplete((ignored, failure) -> {
      if (!endedByStream) {
        requestCancel();
      }
    });
  }

  /** What the job's RunJob or WatchJob stream is handed. */
  StreamObserver<JobEvent> events() {
    return events;
  }

  /**
   * Waits until the service has accepted the job (its first answer, normally within a
   * millisecond). Interrupted, it cancels the job as {@link #get()} does.
   *
   * @throws RuntimeException the service's refusal, as one of this package's exceptions
   */
  void awaitAccepted() throws InterruptedException {
    try {
      // An interrupt that came while the call was being sent counts too: get() of a future that
      // is done by the time it is called returns without looking at the thread's interrupt status.
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted while submitting the job");
      }
      accepted.get();
      // An interrupt that came as the acceptance did: get() then returns the value and sets the
      // thread's interrupt status again. It came while submitting all the same, and counts the same,
      // whichever of the two the scheduler ran first.
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted while submitting the job");
      }
    } catch (InterruptedException e) {
      cancelAfterInterrupt();
      throw e;
    } catch (ExecutionException e) {
      throw failure(e.getCause());
    }
  }

  /**
   * The job's id, which the service gave it.
   *
   * @return the id, as {@code offload status ID} and {@link Offloader#cancel} take it
   */
  public synchronized String id() {
    return jobId;
  }

  /**
   * The name of the handler that runs the job.
   *
   * @return the handler's name, as submitted
   */
  public String handler() {
    return handler;
  }

  /**
   * The job's state as last heard from the service; it does not ask the service. Once the result
   * is there, it is the job's terminal state (unless the connection was lost first).
   *
   * @return the latest state this handle knows
   */
  public JobState state() {
    return state;
  }

  /**
   * The job's latest progress report, if its handler has sent one. To see every report, give a
   * listener with {@link JobOptions#withProgressListener}.
   *
   * @return the latest report; empty before the first
   */
  public Optional<Progress> progress() {
    return Optional.ofNullable(progress);
  }

  /**
   * Whether the result is there (the job has ended, or the connection was lost).
   *
   * @return true once {@link #get()} would not block
   */
  public boolean isDone() {
    return result.isDone();
  }

  /**
   * Waits for the job's end and returns its output. Interrupting the waiting thread cancels the
   * job on the service (see the class comment) and then throws {@link InterruptedException}.
   *
   * @return the job's output, read as the type asked for
   * @throws InterruptedException if the thread was interrupted while waiting; the job has been
   *     asked to cancel
   * @throws JobFailedException if the job FAILED
   * @throws JobTimedOutException if the job ran past its timeout or deadline
   * @throws JobCancelledException if the job was cancelled
   * @throws OutputTypeException if the output does not fit the type
   * @throws ServiceUnavailableException if the connection was lost before the job ended, or the
   *     service stopped and left the job queued for its next start
   * @throws java.util.concurrent.CancellationException if {@link #future()} was cancelled
   */
  public O get() throws InterruptedException {
    try {
      return result.get();
    } catch (CancellationException e) {
      throw cancelled(e);
    } catch (InterruptedException e) {
      cancelAfterInterrupt();
      throw e;
    } catch (ExecutionException e) {
      throw failure(e.getCause());
    }
  }

  /**
   * Waits at most {@code timeout} for the job's end and returns its output. The timeout bounds
   * this wait only: the job runs on when it passes (give the job a {@link JobOptions#withDeadline
   * deadline} to bound the job itself). Interrupting the waiting thread cancels the job, as
   * {@link #get()} does.
   *
   * @param timeout how long to wait at most
   * @return the job's output, read as the type asked for
   * @throws TimeoutException if the job had not ended within {@code timeout}
   * @throws InterruptedException if the thread was interrupted while waiting; the job has been
   *     asked to cancel
   * @throws OffloadException (a subclass) as {@link #get()} throws it
   * @throws java.util.concurrent.CancellationException as {@link #get()} throws it
   */
  public O get(Duration timeout) throws InterruptedException, TimeoutException {
    try {
      return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (CancellationException e) {
      throw cancelled(e);
    } catch (InterruptedException e) {
      cancelAfterInterrupt();
      throw e;
    } catch (ExecutionException e) {
      throw failure(e.getCause());
    }
  }

  /**
   * The job's result as a future, for composing with other asynchronous work. It is the same
   * future on every call. It completes on one of the client's threads, with the output or with
   * the exceptions {@link #get()} throws (a {@link JobCancelledException} makes it cancelled).
   * Cancelling it, or its {@code orTimeout} passing, cancels the job; futures derived from it do
   * not (see the class comment).
   *
   * @return the future of the job's output
   */
  public CompletableFuture<O> future() {
    return result;
  }

  /**
   * Asks the service to cancel the job, and returns without waiting: the job then ends
   * CANCELLED (and {@link #get()} throws {@link JobCancelledException}), unless it ends another
   * way first. Calling it again, or after the job's end, does nothing.
   *
   * @return false if this handle already knew the job had ended; true otherwise
   */
  public boolean cancel() {
    if (result.isDone()) {
      return false;
    }
    requestCancel();
    return true;
  }

  @Override
  public String toString() {
    return "JobHandle[id=" + id() + ", handler=" + handler + ", state=" + state + "]";
  }

  /** Sends the job's cancel, now or once its id is known; the future is done when the service has answered, or the job has ended. */
  private CompletableFuture<Void> requestCancel() {
    String id = null;
    CompletableFuture<Void> answered;
    synchronized (this) {
      if (cancelAnswered == null) {
        cancelAnswered = new CompletableFuture<>();
        if (jobId != null) {
          cancelSent = true;
          id = jobId;
        }
      }
      answered = cancelAnswered;
    }
    if (endedByStream) {
      answered.complete(null); // the job has ended, or its stream failed: nothing to cancel, or no way to
    } else if (id != null) {
      send(id, answered);
    }
    return answered;
  }

  private void send(String id, CompletableFuture<Void> answered) {
    cancelJob.apply(id).whenComplete((ignored, failure) -> {
      if (failure != null) {
        LOG.debug("could not cancel job {}", id, failure);
      }
      answered.complete(null);
    });
  }

  /**
   * Cancels the job after its waiter was interrupted, and waits a bounded time for the service to
   * take the cancel, so that a program that closes its client right after (as one that shuts
   * down would) does not lose it. A further interrupt does not cut this short: the caller is
   * about to throw InterruptedException anyway.
   */
  private void cancelAfterInterrupt() {
    CompletableFuture<Void> answered = requestCancel();
    long end = System.nanoTime() + CANCEL_WAIT.toNanos();
    while (true) {
      try {
        answered.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
        return;
      } catch (InterruptedException again) {
        // Keep waiting; the InterruptedException the caller throws tells of this one too.
      } catch (TimeoutException e) {
        LOG.debug("the service had not answered the cancel of job {} after {}", id(), CANCEL_WAIT);
        return;
      } catch (ExecutionException e) {
        return; // never completed exceptionally
      }
    }
  }

  /**
   * What a waiting call throws for a failed result: this package's exceptions as they are; what
   * other code completed the future with (an {@code orTimeout}'s TimeoutException, say) wrapped.
   */
  private RuntimeException failure(Throwable cause) {
    if (cause instanceof RuntimeException e) {
      return e;
    }
    if (cause instanceof Error e) {
      throw e;
    }
    return new OffloadException("the future of job " + id() + " was completed with " + cause
        + " by code outside the client (an orTimeout, say); the job was asked to cancel", cause);
  }

  /**
   * The job's own {@link JobCancelledException} when the job was cancelled on the service: a
   * {@link CompletableFuture}'s get wraps it in a new CancellationException (with the caller's
   * stack) since JDK 23.
   */
  private static CancellationException cancelled(CancellationException e) {
    return e.getCause() instanceof JobCancelledException job ? job : e;
  }

  /**
   * The future of the output. A class of its own so that the futures derived from it are plain
   * ones ({@link CompletableFuture#newIncompleteFuture} is not overridden): they are the caller's,
   * and completing them touches nothing here.
   */
  private final class Result extends CompletableFuture<O> {}

  /** The job's stream: its id first, then its states and progress, then its end. */
  private final class Events implements StreamObserver<JobEvent> {
    @Override
    public void onNext(JobEvent event) {
      if (event.hasProgress()) {
        Progress report = new Progress(event.getProgress().getFraction(), event.getProgress().getMessage());
        progress = report;
        if (progressListener != null) {
          try {
            progressListener.accept(report);
          } catch (RuntimeException e) {
            LOG.warn("the progress listener of job {} threw; the job goes on", id(), e);
          }
        }
        return;
      }
      if (!event.hasJob()) {
        return;
      }
      Job job = event.getJob();
      CompletableFuture<Void> cancelNow = null;
      synchronized (JobHandle.this) {
        if (jobId == null) {
          jobId = job.getId();
          if (cancelAnswered != null && !cancelSent) {
            cancelSent = true;
            cancelNow = cancelAnswered;
          }
        }
      }
      state = JobState.of(job.getState());
      accepted.complete(job.getId());
      if (cancelNow != null) {
        send(job.getId(), cancelNow);
      }
      if (state.isTerminal()) {
        endedByStream = true;
        if (state == JobState.SUCCEEDED) {
          try {
            result.complete(output.read(job.getId(), job.getOutputJson()));
          } catch (RuntimeException e) {
            result.completeExceptionally(e);
          }
        } else {
          result.completeExceptionally(Failures.ofEnd(job));
        }
        ended();
      }
    }

    @Override
    public void onError(Throwable t) {
      RuntimeException failure = Failures.of(t, target, handler, id());
      endedByStream = true;
      accepted.completeExceptionally(failure);
      result.completeExceptionally(failure);
      ended();
    }

    @Override
    public void onCompleted() {
      if (!result.isDone()) {
        endedByStream = true;
        RuntimeException failure = new OffloadException("the service ended the stream of job " + id()
            + " before the job ended; ask the service for it by its id");
        accepted.completeExceptionally(failure);
        result.completeExceptionally(failure);
      }
      ended();
    }

    /** Nothing more will come: a cancel still waiting for an answer has one. */
    private void ended() {
      CompletableFuture<Void> answered;
      synchronized (JobHandle.this) {
        answered = cancelAnswered;
      }
      if (answered != null) {
        answered.complete(null);
      }
    }
  }
}
