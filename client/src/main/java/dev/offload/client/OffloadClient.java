package dev.offload.client;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.offload.proto.v1.CancelJobRequest;
import dev.offload.proto.v1.CancelJobResponse;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.wire.TokenHeader;
import dev.offload.wire.UnixSockets;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A client of a running offload service ({@code offload serve}): an {@link Offloader} whose jobs
 * run in the service's pool of worker JVMs.
 *
 * <pre>{@code
 * try (OffloadClient client = OffloadClient.connect("unix:/run/user/1000/offload-me/offload.sock")) {
 *   PrimeResult r = client.run("is_prime", 9999999999999917L, PrimeResult.class);
 * }
 * }</pre>
 *
 * <p>Thread-safe: one client serves a whole program, its virtual threads included; calls only
 * wait, they never spin. The connection is made on the first call and re-made as needed; close
 * the client to free it. Jobs' inputs and outputs are mapped by a Jackson {@link ObjectMapper}
 * that finds the Jackson modules on the class path ({@link JsonMapper.Builder#findAndAddModules})
 * and ignores output properties the output type does not have. Failures are this package's
 * exceptions ({@link OffloadException} and its subclasses, {@link JobCancelledException}),
 * never gRPC's. For the protocol's own messages (every field of a job record, the pool's status,
 * batches) use {@link #wire()}.
 */
public final class OffloadClient implements Offloader {

  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

  /**
   * What this client accepts in one answer: any. A job's record holds its input and output (4 and
   * 16 MiB by default, more if the service allows) and a list holds many; gRPC's default of 4 MiB
   * would refuse answers the service rightly gives. The service is the client's own choice.
   */
  private static final int MAX_RESPONSE_BYTES = Integer.MAX_VALUE;

  /**
   * The mapper of {@link #submit}'s inputs and outputs, made on first use: making it loads some 400
   * Jackson classes and looks for modules in every jar, a tenth of a second that a caller of only
   * {@link #wire()} (the CLI) or {@link #submitJson} never needs.
   */
  private static final class Mapper {
    static final ObjectMapper MAPPER = JsonMapper.builder()
        .findAndAddModules()
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .build();
  }

  /** Where it connects; null over a channel given to {@link #over}. */
  private final ServerTarget target;
  private final ManagedChannel channel;
  private final EventLoopGroup group;
  private final OffloadGrpc.OffloadBlockingStub stub;
  private final OffloadGrpc.OffloadStub asyncStub;
  private final WireClient wire;

  private OffloadClient(ServerTarget target, ManagedChannel channel, EventLoopGroup group, boolean ownIoThread) {
    this.target = target;
    this.channel = channel;
    this.group = group;
    Channel refusing = ClientInterceptors.intercept(channel, new RequestSizeRefusal());
    this.stub = OffloadGrpc.newBlockingStub(refusing);
    this.asyncStub = OffloadGrpc.newStub(refusing);
    this.wire = new WireClient(channel, ownIoThread, stub, asyncStub);
  }

  /**
   * Connects to the service at the default target: {@code $OFFLOAD_SERVER} if set, else the
   * socket {@code offload serve} listens on by default (see {@link ServerTarget#defaultTarget}).
   * The connection is made on the first call.
   *
   * @return a client; close it when done
   * @throws IllegalArgumentException if {@code $OFFLOAD_SERVER} is not a target
   */
  public static OffloadClient connect() {
    return connect(ServerTarget.defaultTarget());
  }

  /**
   * Connects to the service at a target written {@code unix:PATH} or {@code HOST:PORT} (as {@link
   * ServerTarget#parse} reads it). The connection is made on the first call.
   *
   * @param target where the service listens, for example {@code "unix:/tmp/offload-me/offload.sock"}
   *     or {@code "127.0.0.1:7000"}
   * @return a client; close it when done
   * @throws IllegalArgumentException if {@code target} is neither form
   */
  public static OffloadClient connect(String target) {
    return connect(ServerTarget.parse(target));
  }

  /**
   * Connects to a service that wants a token or speaks TLS, at a target written {@code unix:PATH}
   * or {@code HOST:PORT}. The connection is made on the first call.
   *
   * @param target where the service listens
   * @param credentials the token and TLS CA to use
   * @return a client; close it when done
   * @throws IllegalArgumentException if {@code target} is neither form, or the CA file cannot be
   *     read as PEM certificates
   */
  public static OffloadClient connect(String target, ClientCredentials credentials) {
    return connect(ServerTarget.parse(target), credentials);
  }

  /**
   * Connects to the service at a target. The connection is made on the first call.
   *
   * @param target where the service listens
   * @return a client; close it when done
   */
  public static OffloadClient connect(ServerTarget target) {
    return connect(target, ClientCredentials.none());
  }

  /**
   * Connects to a service that wants a token or speaks TLS. The connection is made on the first
   * call.
   *
   * @param target where the service listens
   * @param credentials the token and TLS CA to use
   * @return a client; close it when done
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
   *
   * @param channel the channel to the service
   * @return a client; close it when done
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
   *
   * @param target where to look
   * @return true if something accepted a connection within a second
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

  /**
   * Where this client connects.
   *
   * @return the target; empty for a client over a channel given to {@link #over}
   */
  public Optional<ServerTarget> target() {
    return Optional.ofNullable(target);
  }

  @Override
  public <O> JobHandle<O> submit(String handler, Object input, Class<O> outputType, JobOptions options) throws InterruptedException {
    Objects.requireNonNull(outputType, "outputType");
    String inputJson;
    try {
      inputJson = Mapper.MAPPER.writeValueAsString(input);
    } catch (JacksonException e) {
      throw new IllegalArgumentException("the input of a '" + handler + "' job cannot be written as JSON: " + e.getOriginalMessage(), e);
    }
    return start(handler, inputJson, options, (jobId, outputJson) -> {
      try {
        return Mapper.MAPPER.readValue(outputJson, outputType);
      } catch (JacksonException e) {
        throw new OutputTypeException(jobId, outputJson, outputType, e);
      }
    });
  }

  @Override
  public JobHandle<String> submitJson(String handler, String inputJson, JobOptions options) throws InterruptedException {
    return start(handler, Objects.requireNonNull(inputJson, "inputJson"), options, (jobId, outputJson) -> outputJson);
  }

  private <O> JobHandle<O> start(String handler, String inputJson, JobOptions options, JobHandle.OutputReader<O> output)
      throws InterruptedException {
    Objects.requireNonNull(handler, "handler");
    Objects.requireNonNull(options, "options");
    SubmitJobRequest request = SubmitJobRequest.newBuilder()
        .setHandler(handler)
        .setInputJson(inputJson)
        .setTimeoutMs(JobOptions.millis(options.timeout().orElse(null)))
        .setDeadlineMs(JobOptions.millis(options.deadline().orElse(null)))
        .setRetries(options.retries())
        .setIdempotencyKey(options.idempotencyKey().orElse(""))
        .build();
    JobHandle<O> handle = new JobHandle<>(handler, target, this::cancelAsync, output, options.progressListener().orElse(null));
    asyncStub.runJob(request, handle.events());
    handle.awaitAccepted();
    return handle;
  }

  /** Sends a CancelJob; the future completes, never exceptionally, once the service has answered or the call failed. */
  private CompletableFuture<Void> cancelAsync(String jobId) {
    CompletableFuture<Void> answered = new CompletableFuture<>();
    asyncStub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build(), new StreamObserver<CancelJobResponse>() {
      @Override
      public void onNext(CancelJobResponse response) {}

      @Override
      public void onError(Throwable t) {
        answered.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        answered.complete(null);
      }
    });
    return answered;
  }

  @Override
  public JobState cancel(String jobId) {
    try {
      return JobState.of(stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build()).getJob().getState());
    } catch (StatusRuntimeException e) {
      throw Failures.of(e, target, null, null);
    }
  }

  /**
   * The wire-level view of this client: the service's rpcs with their protobuf messages, for
   * tools that show everything the service knows (as the {@code offload} CLI does). It shares this
   * client's connection.
   *
   * @return the wire-level client
   */
  public WireClient wire() {
    return wire;
  }

  /**
   * Closes the connection and returns within about a second. Calls still waiting fail with
   * {@link OffloadException}; jobs already accepted run on, on the service. Closing twice does
   * nothing more.
   */
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
