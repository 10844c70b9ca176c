package dev.offload.client;

import dev.offload.proto.v1.CancelJobRequest;
import dev.offload.proto.v1.GetJobRequest;
import dev.offload.proto.v1.GetPoolStatusRequest;
import dev.offload.proto.v1.GetPoolStatusResponse;
import dev.offload.proto.v1.HandlerInfo;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.ListHandlersRequest;
import dev.offload.proto.v1.ListJobsRequest;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.ShutdownRequest;
import dev.offload.proto.v1.ShutdownResponse;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WatchJobRequest;
import dev.offload.wire.TokenHeader;
import dev.offload.wire.UnixSockets;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;

/**
 * A client of a running offload service. Calls block the calling thread (cheap on a virtual
 * thread) and throw {@link io.grpc.StatusRuntimeException} with the service's status and message
 * on failure. Thread-safe; close it to free its connection.
 */
public final class OffloadClient implements Offloader {

  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

  /**
   * What this client accepts in one answer: any. A job's record holds its input and output (4 and
   * 16 MiB by default, more if the service allows) and a list holds many; gRPC's default of 4 MiB
   * would refuse answers the service rightly gives. The service is the client's own choice.
   */
  private static final int MAX_RESPONSE_BYTES = Integer.MAX_VALUE;

  /** Where it connects; null over a channel given to {@link #over}. */
  private final ServerTarget target;
  private final ManagedChannel channel;
  private final EventLoopGroup group;
  /** Whether results may be handled on the connection's own I/O thread (see {@link #batch}). */
  private final boolean ownIoThread;
  private final OffloadGrpc.OffloadBlockingStub stub;
  private final OffloadGrpc.OffloadStub asyncStub;

  private OffloadClient(ServerTarget target, ManagedChannel channel, EventLoopGroup group, boolean ownIoThread) {
    this.target = target;
    this.channel = channel;
    this.group = group;
    this.ownIoThread = ownIoThread;
    Channel refusing = ClientInterceptors.intercept(channel, new RequestSizeRefusal());
    this.stub = OffloadGrpc.newBlockingStub(refusing);
    this.asyncStub = OffloadGrpc.newStub(refusing);
  }

  /** Connects to a service; the connection is made on the first call. */
  public static OffloadClient connect(ServerTarget target) {
    return connect(target, ClientCredentials.none());
  }

  /**
   * Connects to a service that wants a token or speaks TLS; the connection is made on the first
   * call.
   *
   * @throws IllegalArgumentException if the CA file cannot be read as PEM certificates
   */
  public static OffloadClient connect(ServerTarget target, ClientCredentials credentials) {
    return switch (target) {
      case ServerTarget.Unix unix -> {
        EventLoopGroup group = UnixSockets.newEventLoopGroup(1, "offload-client-io");
        yield new OffloadClient(target, secured(UnixSockets.channelBuilder(unix.socket(), group), credentials).build(), group, true);
      }
      case ServerTarget.Tcp tcp -> {
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(tcp.host(), tcp.port());
        if (credentials.tlsCa() == null) {
          builder.usePlaintext();
        } else {
          try {
            builder.sslContext(GrpcSslContexts.forClient().trustManager(credentials.tlsCa().toFile()).build());
          } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use " + credentials.tlsCa() + " as the CA of the service's certificate: " + e.getMessage(), e);
          }
        }
        yield new OffloadClient(target, secured(builder, credentials).build(), null, true);
      }
    };
  }

  /**
   * A client over a channel the caller built (gRPC's in-process transport, say, or a channel with
   * interceptors of its own); the client owns it from now on and shuts it down on {@link #close}.
   * Results are handed over on the channel's executor, never on its I/O thread, which may be
   * someone else's.
   */
  public static OffloadClient over(ManagedChannel channel) {
    return new OffloadClient(null, channel, null, false);
  }

  /** Any answer size, and the token on every call when there is one. */
  private static <T extends ManagedChannelBuilder<T>> T secured(T builder, ClientCredentials credentials) {
    builder.maxInboundMessageSize(MAX_RESPONSE_BYTES);
    if (credentials.token() != null) {
      Metadata headers = new Metadata();
      headers.put(TokenHeader.KEY, TokenHeader.value(credentials.token()));
      builder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return builder;
  }

  /**
   * Whether anything accepts connections at a target now: a quick look before choosing between a
   * running service and a private pool. It does not speak gRPC.
   */
  public static boolean answers(ServerTarget target) {
    return switch (target) {
      case ServerTarget.Unix unix -> UnixSockets.answers(unix.socket());
      case ServerTarget.Tcp tcp -> {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress(tcp.host(), tcp.port()), (int) PROBE_TIMEOUT.toMillis());
          yield true;
        } catch (IOException e) {
          yield false;
        }
      }
    };
  }

  /** Where this client connects; empty for a client over a channel given to {@link #over}. */
  public Optional<ServerTarget> target() {
    return Optional.ofNullable(target);
  }

  @Override
  public CompletableFuture<String> submit(String handler, String inputJson) {
    JobFuture future = new JobFuture(id -> asyncStub.cancelJob(
        CancelJobRequest.newBuilder().setJobId(id).build(), new io.grpc.stub.StreamObserver<>() {
          @Override
          public void onNext(dev.offload.proto.v1.CancelJobResponse value) {}

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        }));
    asyncStub.runJob(SubmitJobRequest.newBuilder().setHandler(handler).setInputJson(inputJson).build(), future);
    return future;
  }

  /** Queues a job and returns it as accepted. */
  public Job submit(SubmitJobRequest request) {
    return stub.submitJob(request).getJob();
  }

  /**
   * Submits a job and waits for its end, passing every event to {@code onEvent} as it comes.
   *
   * @return the job in its terminal state
   */
  public Job run(SubmitJobRequest request, Consumer<JobEvent> onEvent) {
    return lastJob(stub.runJob(request), onEvent);
  }

  /** Waits for a job's end, passing every event to {@code onEvent}; returns the terminal job. */
  @Override
  public Job watch(String jobId, Consumer<JobEvent> onEvent) {
    return lastJob(stub.watchJob(WatchJobRequest.newBuilder().setJobId(jobId).build()), onEvent);
  }

  /**
   * Opens a batch stream: many jobs over one call, at most {@code maxInFlight} outstanding. Results
   * go to {@code onResult} as jobs end, one at a time.
   *
   * <p>Against a socket, {@code onResult} runs on the connection's own I/O thread: a hand-off to
   * another thread per result cost more than the rest of the client's work per job. It must not
   * wait for anything but its own output; a slow writer just slows the batch down. Over a channel
   * given to {@link #over} it runs on the channel's executor.
   */
  public BatchCall batch(int maxInFlight, Consumer<dev.offload.proto.v1.BatchResult> onResult) {
    OffloadGrpc.OffloadStub batchStub = ownIoThread ? asyncStub.withExecutor(Runnable::run) : asyncStub;
    return new BatchCall(batchStub, maxInFlight, onResult);
  }

  public Job get(String jobId) {
    return stub.getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
  }

  /** The jobs the service holds, oldest first; those in {@code state} only, unless it is null. */
  public List<Job> list(JobState state) {
    var request = ListJobsRequest.newBuilder();
    if (state != null) {
      request.setState(state);
    }
    return stub.listJobs(request.build()).getJobsList();
  }

  /** Cancels a job and returns its record after the request (see the CancelJob rpc). */
  @Override
  public Job cancel(String jobId) {
    return stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build()).getJob();
  }

  public GetPoolStatusResponse poolStatus() {
    return stub.getPoolStatus(GetPoolStatusRequest.getDefaultInstance());
  }

  public List<HandlerInfo> handlers() {
    return stub.listHandlers(ListHandlersRequest.getDefaultInstance()).getHandlersList();
  }

  /** Asks the service to shut down; null grace means the service's default. */
  public ShutdownResponse shutdown(Duration grace) {
    return stub.shutdown(ShutdownRequest.newBuilder().setGraceMs(grace == null ? 0 : grace.toMillis()).build());
  }

  /**
   * Waits until the connection to the service drops (the service has exited), at most {@code
   * limit}; true if it did. Call it after a call has connected.
   */
  public boolean awaitDisconnect(Duration limit) throws InterruptedException {
    CompletableFuture<Void> dropped = new CompletableFuture<>();
    watchUntilDropped(channel.getState(false), dropped);
    try {
      dropped.get(limit.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private void watchUntilDropped(ConnectivityState state, CompletableFuture<Void> dropped) {
    if (state != ConnectivityState.READY && state != ConnectivityState.CONNECTING) {
      dropped.complete(null);
      return;
    }
    channel.notifyWhenStateChanged(state, () -> watchUntilDropped(channel.getState(false), dropped));
  }

  private static Job lastJob(Iterator<JobEvent> events, Consumer<JobEvent> onEvent) {
    Job last = null;
    while (events.hasNext()) {
      JobEvent event = events.next();
      onEvent.accept(event);
      if (event.hasJob()) {
        last = event.getJob();
      }
    }
    if (last == null || !isTerminal(last.getState())) {
      throw Status.UNAVAILABLE.withDescription("the service ended the job's stream before the job ended").asRuntimeException();
    }
    return last;
  }

  private static boolean isTerminal(JobState state) {
    return switch (state) {
      case SUCCEEDED, FAILED, CANCELLED, TIMED_OUT -> true;
      default -> false;
    };
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (group != null) {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
  }
}
