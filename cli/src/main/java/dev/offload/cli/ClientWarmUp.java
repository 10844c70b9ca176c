package dev.offload.cli;

import dev.offload.proto.v1.SubmitJobRequest;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.epoll.Epoll;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.util.concurrent.GlobalEventExecutor;

/**
 * The start-up work of a client command that needs nothing from its command line, done on a thread
 * of its own while the main thread builds picocli's model and parses the arguments: logging's
 * set-up, and the static initializers of the classes the command's first call would otherwise
 * initialize one after another on the main thread (Netty's native transport and buffers, gRPC's
 * channel and HTTP/2 codec, the protocol's messages). A CLI call is one thread's work from start
 * to end, and this puts some of it on the second core: {@code offload run echo 1} against a
 * service, 8% less wall time on this machine's two cores, measured side by side.
 *
 * <p>The main thread {@linkplain #await waits} for it before it runs the command, so that the two
 * never initialize these classes at the same time: a static initializer that needs a class the
 * other thread is initializing, while that one needs a class the first holds, deadlocks both.
 */
final class ClientWarmUp implements Runnable {

  private final Thread thread = new Thread(this, "offload-warm-up");

  private ClientWarmUp() {}

  /**
   * Starts the warm-up. A Runnable of its own rather than a lambda: the first lambda a JVM links
   * sets up the method-handle machinery, on the main thread if it comes this early.
   */
  static ClientWarmUp start() {
    ClientWarmUp warmUp = new ClientWarmUp();
    warmUp.thread.setDaemon(true); // a command that ends early (--help, a usage error) need not wait
    warmUp.thread.start();
    return warmUp;
  }

  /** Returns once the warm-up is over; before the command runs. */
  void await() {
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // kept for the command, which would have seen it without the warm-up
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void run() {
    ClientLogging.configure(); // first: Netty and gRPC take their loggers as their classes initialize
    // The costliest initializers on offload run's way, as profiled here: about 60 ms on one core.
    try {
      Epoll.isAvailable(); // the native library, which the probe of a service's socket loads
      SubmitJobRequest.getDefaultInstance(); // protobuf's runtime and the protocol's descriptors
      initialize(
          ByteBufAllocator.class,
          NettyChannelBuilder.class,
          DefaultChannelId.class,
          GlobalEventExecutor.class,
          Http2CodecUtil.class,
          Http2ConnectionHandler.class,
          DefaultHttp2FrameWriter.class);
    } catch (LinkageError | RuntimeException e) {
      // The command meets the same failure where it first needs the class, and reports it there.
    }
  }

  private static void initialize(Class<?>... classes) {
    for (Class<?> type : classes) {
      try {
        Class.forName(type.getName(), true, type.getClassLoader());
      } catch (ClassNotFoundException impossible) {
        throw new AssertionError(impossible); // a class literal names a class that is there
      }
    }
  }
}
