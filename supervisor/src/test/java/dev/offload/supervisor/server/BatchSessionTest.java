package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.BatchRequest;
import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.job.Dispatcher;
import dev.offload.supervisor.job.PendingInputs;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A batch stream reads its lines by hand: the next only once the line in hand has been taken, so
 * that a line waiting for room in {@code --pending-memory} holds the client back in gRPC's flow
 * control instead of piling lines up in the service.
 */
class BatchSessionTest {

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  /** The stream's server side, as gRPC gives it, recording what the session asks of it. */
  private static final class Stream extends ServerCallStreamObserver<BatchResult> {
    final AtomicInteger requested = new AtomicInteger();
    final List<BatchResult> sent = new CopyOnWriteArrayList<>();
    final CompletableFuture<Throwable> error = new CompletableFuture<>();
    boolean autoRequestDisabled;
    Runnable onCancel;

    @Override public void disableAutoRequest() { autoRequestDisabled = true; }
    @Override public void request(int count) { requested.addAndGet(count); }
    @Override public void onNext(BatchResult value) { sent.add(value); }
    @Override public void onError(Throwable t) { error.complete(t); }
    @Override public void onCompleted() {}
    @Override public boolean isCancelled() { return false; }
    @Override public void setOnCancelHandler(Runnable handler) { onCancel = handler; }
    @Override public void setCompression(String compression) {}
    @Override public boolean isReady() { return true; }
    @Override public void setOnReadyHandler(Runnable handler) {}
    @Override public void disableAutoInboundFlowControl() { autoRequestDisabled = true; }
    @Override public void setMessageCompression(boolean enable) {}
  }

  private static BatchRequest line(String key) {
    return BatchRequest.newBuilder().setKey(key).setJob(SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("1")).build();
  }

  @Test
  void aLineWithoutRoom_stopsTheReading_untilRoomComes_thenItIsTakenWithTheRoomHeld() throws Exception {
    PendingInputs pending = new PendingInputs(100);
    assertTrue(pending.tryHold(100)); // a job holds all of it
    List<Long> heldForTakes = new CopyOnWriteArrayList<>();
    BatchSession.Acceptor acceptor = (request, heldBytes, accepted, refused, noRoom) -> {
      if (heldBytes == OffloadService.NOT_HELD) {
        noRoom.accept(40);
      } else {
        heldForTakes.add(heldBytes);
        refused.accept(Status.INVALID_ARGUMENT.withDescription("refused here, to end the line").asRuntimeException());
      }
    };
    Stream stream = new Stream();
    BatchSession session = new BatchSession(acceptor, pending, new Dispatcher(10, Duration.ofSeconds(1), scheduler), Limits.defaults(),
        "memory:", stream);
    assertTrue(stream.autoRequestDisabled);
    assertEquals(1, stream.requested.get(), "the first line is asked for");

    session.onNext(line("a"));
    assertEquals(1, stream.requested.get(), "no room: the next line is not read");
    assertEquals(1, pending.waiting());

    pending.release(100); // the job ends
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (stream.requested.get() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(1); // a poll of a bounded wait for the virtual thread that takes the line
    }
    assertEquals(2, stream.requested.get(), "taken once room came, and the next line asked for");
    assertEquals(List.of(40L), heldForTakes, "taken with its room held for it");
    assertEquals(0, pending.waiting());
  }

  @Test
  void aLineThatCannotBeTakenAfterItsWait_endsTheStreamWithInternal_ratherThanLeaveTheClientWaiting() throws Exception {
    PendingInputs pending = new PendingInputs(100);
    assertTrue(pending.tryHold(100));
    BatchSession.Acceptor acceptor = (request, heldBytes, accepted, refused, noRoom) -> {
      if (heldBytes == OffloadService.NOT_HELD) {
        noRoom.accept(40);
      } else {
        throw new IllegalStateException("a fault in taking the line");
      }
    };
    Stream stream = new Stream();
    BatchSession session = new BatchSession(acceptor, pending, new Dispatcher(10, Duration.ofSeconds(1), scheduler), Limits.defaults(),
        "memory:", stream);
    session.onNext(line("a"));

    pending.release(100); // room comes, and the line is taken again on a virtual thread of its own

    Status status = Status.fromThrowable(stream.error.get(10, TimeUnit.SECONDS));
    assertEquals(Status.Code.INTERNAL, status.getCode());
    assertTrue(status.getDescription().contains("a fault in taking the line") && status.getDescription().contains("bug in offload"),
        status.getDescription());
    assertEquals(1, stream.requested.get(), "nothing more read from a stream that ended");
  }

  @Test
  void aClientThatGoesWhileItsLineWaits_givesItsPlaceUp() {
    PendingInputs pending = new PendingInputs(100);
    assertTrue(pending.tryHold(100));
    BatchSession.Acceptor acceptor = (request, heldBytes, accepted, refused, noRoom) -> noRoom.accept(40);
    Stream stream = new Stream();
    BatchSession session = new BatchSession(acceptor, pending, new Dispatcher(10, Duration.ofSeconds(1), scheduler), Limits.defaults(),
        "memory:", stream);
    session.onNext(line("a"));
    assertEquals(1, pending.waiting());

    stream.onCancel.run();

    assertEquals(0, pending.waiting(), "out of the line");
    pending.release(100);
    assertEquals(0, pending.held(), "nothing held for a line nobody waits on");
  }
}
