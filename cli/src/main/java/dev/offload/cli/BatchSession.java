package dev.offload.cli;

import dev.offload.client.BatchCall;
import dev.offload.client.OffloadClient;
import dev.offload.proto.v1.BatchResult;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One {@code RunBatch} call of a command ({@code batch}, {@code each}): a thread reads the
 * command's input and sends its jobs while the command's thread waits for the call's end, so
 * that the command ends as soon as the call does (a service that is gone, Ctrl-C, a stop asked
 * for by the command), even while the reading thread waits for a slot of the window or for its
 * input. Ctrl-C, SIGTERM and SIGHUP stop it (see {@link Signals#STOPPING}); a second one halts the
 * process with 128 + its number. Used once, by one command.
 */
final class BatchSession {

  /** Reads a command's input and sends its jobs; runs on the session's reading thread. */
  interface Sender {
    /**
     * Sends every job, each after {@link BatchCall#acquire}, and then {@link BatchCall#finish}
     * unless the session was {@linkplain #stopped() stopped}.
     *
     * @param call the session's call
     * @throws StatusRuntimeException if the call ends while it waits for a slot
     */
    void sendAll(BatchCall call) throws IOException, InterruptedException;
  }

  private final String name;
  private final AtomicReference<BatchCall> call = new AtomicReference<>();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final AtomicInteger stoppedBy = new AtomicInteger(); // the signal's number; 0 while none came
  private final AtomicReference<Throwable> inputFailure = new AtomicReference<>();

  /** A session whose reading thread is named after the command ({@code offload-NAME-input}). */
  BatchSession(String name) {
    this.name = name;
  }

  /**
   * Runs the call to its end: opens it, installs the signal handlers, starts the reading thread
   * with {@code sender}, and waits. {@code onResult} gets each result on a gRPC thread, one at a
   * time; it may call {@link #stop} and {@link #call}.
   *
   * @return the status the call failed with, or null if it completed or ended because this side
   *     stopped it (see {@link #signal} and {@link #inputFailure} for why)
   * @throws InterruptedException if this thread was interrupted while waiting
   */
  StatusRuntimeException run(OffloadClient client, int maxInFlight, boolean acknowledge, Consumer<BatchResult> onResult,
      Sender sender) throws InterruptedException {
    call.set(client.wire().batch(maxInFlight, acknowledge, onResult));
    Signals.handle(
        signal -> {
          stoppedBy.set(signal);
          stopped.set(true);
          call.get().cancel("interrupted");
        },
        signal -> Runtime.getRuntime().halt(ExitCodes.forSignal(signal)),
        Signals.STOPPING);
    // A daemon: if the call ends while it waits for input from a pipe, nothing waits for it.
    Thread.ofPlatform().name("offload-" + name + "-input").daemon().start(() -> {
      try {
        sender.sendAll(call.get());
      } catch (StatusRuntimeException callEnded) {
        // It wanted a slot of a call that has ended; the waiting thread reports how it ended.
      } catch (Throwable e) {
        // The input cannot be read (or worse): end the call, which the waiting thread waits on.
        inputFailure.set(e);
        stopped.set(true);
        call.get().cancel("the " + name + " input failed");
      }
    });
    try {
      call.get().await();
    } catch (StatusRuntimeException e) {
      if (!stopped.get() || e.getStatus().getCode() != Status.Code.CANCELLED) {
        return e;
      }
    }
    return null;
  }

  /**
   * Stops the session from this side, cancelling its call (the service cancels every job of it
   * that has not ended).
   *
   * @param why the reason, for the call's status
   * @return true if this stopped it, false if it was stopped already
   */
  boolean stop(String why) {
    if (!stopped.compareAndSet(false, true)) {
      return false;
    }
    call.get().cancel(why);
    return true;
  }

  /** Whether the session was stopped on this side: by {@link #stop}, a signal, or its input failing. */
  boolean stopped() {
    return stopped.get();
  }

  /** The session's call; null before {@link #run} opens it. */
  BatchCall call() {
    return call.get();
  }

  /** The number of the signal that stopped the session, or 0 if none did. */
  int signal() {
    return stoppedBy.get();
  }

  /** What the reading thread threw (the input could not be read, say), or null. */
  Throwable inputFailure() {
    return inputFailure.get();
  }
}
