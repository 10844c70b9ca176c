package dev.offload.supervisor.server;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds how many streaming calls (run, watch, batch, and the health and reflection streams) are
 * open at once across all clients: each holds memory and a listener for as long as it lasts, so
 * without a bound a client could open them until the supervisor runs out. Unary calls are not
 * counted; they end at once.
 */
final class StreamLimit implements ServerInterceptor {

  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  StreamLimit(int max) {
    this.max = max;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY) {
      return next.startCall(call, headers);
    }
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      call.close(Status.RESOURCE_EXHAUSTED.withDescription(max + " streams (run, watch, batch) are open already, the most this service"
          + " allows; retry when some have ended, or start the service with a larger --max-streams"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    AtomicBoolean released = new AtomicBoolean();
    Runnable release = () -> {
      if (released.compareAndSet(false, true)) {
        open.decrementAndGet();
      }
    };
    try {
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
        @Override
        public void onComplete() {
          release.run();
          super.onComplete();
        }

        @Override
        public void onCancel() {
          release.run();
          super.onCancel();
        }
      };
    } catch (RuntimeException e) {
      release.run();
      throw e;
    }
  }
}
