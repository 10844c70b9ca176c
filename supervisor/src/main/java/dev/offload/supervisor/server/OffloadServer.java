package dev.offload.supervisor.server;

import dev.offload.client.ServerTarget;
import dev.offload.wire.UnixSockets;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.supervisor.security.PeerCheck;
import dev.offload.supervisor.security.ServerSecurity;
import dev.offload.supervisor.security.TokenCheck;
import dev.offload.supervisor.security.UnixPeers;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Owns the lifecycle of the gRPC server that serves the {@code Offload} service on a target:
 * {@link #start}, {@link #shutdown}, {@link #awaitTermination}.
 *
 * <p>Calls run directly on the server's I/O thread: no rpc of {@link OffloadService} blocks
 * (submitting, cancelling and watching only record state and write to streams), and a hop to
 * another thread per message was the largest cost of a job's way through the supervisor (it
 * halved the no-op throughput of a batch in the bench).
 *
 * <p>A Unix socket lives in a directory only its owner can enter (0700) and is itself 0600 from
 * the moment it appears at its path (see {@link StagedSocket}); a stale socket file left by a dead
 * service is replaced, a live one is never taken over. Its calls are checked against the
 * connecting process's uid ({@link PeerCheck}).
 */
public final class OffloadServer {

  /**
   * Streams the health-only listener keeps open at once: it takes calls without a token, so its
   * {@code Watch} streams must not be able to hold memory without bound. Probes call {@code Check}.
   */
  static final int HEALTH_ONLY_MAX_STREAMS = 16;
  /** A health request names a service; nothing longer is needed. */
  private static final int HEALTH_ONLY_MAX_REQUEST_BYTES = 4096;

  private final ServerTarget target;
  private final Server server;
  private final Supervisor supervisor;
  private final HealthStatusManager health;
  private volatile Server healthOnly;

  private OffloadServer(ServerTarget target, Server server, Supervisor supervisor, HealthStatusManager health) {
    this.target = target;
    this.server = server;
    this.supervisor = supervisor;
    this.health = health;
  }

  /** Serves a supervisor's service with no token and no TLS: on a Unix socket or loopback. */
  public static OffloadServer start(ServerTarget target, Supervisor supervisor) throws IOException {
    return start(target, supervisor, ServerSecurity.none());
  }

  /**
   * Binds and starts serving a supervisor's service, on the supervisor's I/O thread. An address
   * other than loopback is served only with a token; TLS is for TCP.
   *
   * @throws IOException if the target cannot be bound or the security does not fit it, with a
   *     message that says why
   */
  public static OffloadServer start(ServerTarget target, Supervisor supervisor, ServerSecurity security) throws IOException {
    HealthStatusManager health = new HealthStatusManager();
    return serving(target, startOn(target, supervisor, health, security), supervisor, health);
  }

  /**
   * Starts serving a supervisor's service over gRPC's in-process transport, under {@code name},
   * for clients in this JVM only ({@link EmbeddedService}).
   */
  static OffloadServer startInProcess(String name, Supervisor supervisor) throws IOException {
    HealthStatusManager health = new HealthStatusManager();
    Server server = withServices(InProcessServerBuilder.forName(name), supervisor, health, ServerSecurity.none()).build().start();
    return serving(null, server, supervisor, health);
  }

  private static Server startOn(ServerTarget target, Supervisor supervisor, HealthStatusManager health, ServerSecurity security)
      throws IOException {
    if (security.tls() && !(target instanceof ServerTarget.Tcp)) {
      throw new IOException("TLS is for TCP: " + target + " is not a HOST:PORT target; a Unix socket is protected by its file permissions");
    }
    EventLoopGroup io = supervisor.io();
    return switch (target) {
      case ServerTarget.Unix unix -> startOnUnixSocket(unix, supervisor, health, security);
      case ServerTarget.Tcp tcp -> {
        InetAddress address = InetAddress.getByName(tcp.host());
        if (!address.isLoopbackAddress() && security.token() == null) {
          throw new IOException("refusing to listen on " + tcp + " without a token: it is not a loopback address, so other"
              + " machines could send jobs; give the service a token with --token-file (and a certificate with --tls-cert"
              + " and --tls-key), or listen on 127.0.0.1:PORT or a unix: socket");
        }
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(address, tcp.port()))
            .channelType(EpollServerSocketChannel.class)
            .bossEventLoopGroup(io)
            .workerEventLoopGroup(io);
        if (security.tls()) {
          builder.sslContext(GrpcSslContexts.forServer(security.tlsCert().toFile(), security.tlsKey().toFile()).build());
        }
        yield started(target, withServices(builder, supervisor, health, security).build());
      }
    };
  }

  private static OffloadServer serving(ServerTarget target, Server server, Supervisor supervisor, HealthStatusManager health) {
    // offload.v1.Offload serves while a worker is ready to run jobs: a pool down to none (its
    // replacements failing to start) takes jobs that can only wait, which a load balancer or a
    // script should hear. The service as a whole, "", stays SERVING until shutdown.
    supervisor.pool().watchReady(ready -> health.setStatus(OffloadGrpc.SERVICE_NAME,
        ready > 0 ? HealthCheckResponse.ServingStatus.SERVING : HealthCheckResponse.ServingStatus.NOT_SERVING));
    // From the first moment of a shutdown, health checks say so: load balancers and scripts stop
    // sending work while the running jobs finish.
    supervisor.shutdownBegun().thenRun(health::enterTerminalState);
    return new OffloadServer(target, server, supervisor, health);
  }

  /**
   * Also answers the standard gRPC health service, and nothing else, on {@code address}, in
   * plaintext and without a token: for probes that can do neither TLS nor a token, such as a
   * Kubernetes {@code grpc} probe of a service that serves TLS. It says what the main listener's
   * health service says (SERVING while a worker is ready, NOT_SERVING from the start of a
   * shutdown), which reveals nothing about jobs, handlers or the token. At most
   * {@value #HEALTH_ONLY_MAX_STREAMS} {@code Watch} streams are open on it at once. It stops with
   * this server. Call it at most once.
   *
   * @return the port it listens on (the one asked for, or a free one for port 0)
   * @throws IOException if the address cannot be bound
   */
  public int serveHealthOnly(InetSocketAddress address) throws IOException {
    if (healthOnly != null) {
      throw new IllegalStateException("the health-only listener is already serving");
    }
    Server started;
    try {
      started = NettyServerBuilder.forAddress(address)
          .channelType(EpollServerSocketChannel.class)
          .bossEventLoopGroup(supervisor.io())
          .workerEventLoopGroup(supervisor.io())
          .directExecutor()
          .maxInboundMessageSize(HEALTH_ONLY_MAX_REQUEST_BYTES)
          .intercept(new StreamLimit(HEALTH_ONLY_MAX_STREAMS))
          .addService(health.getHealthService())
          .build()
          .start();
    } catch (IOException e) {
      throw new IOException("cannot serve health checks on " + address.getHostString() + ":" + address.getPort() + ": "
          + e.getMessage() + "; choose another --health address", e);
    }
    healthOnly = started;
    return started.getPort();
  }

  /**
   * Serves on a Unix socket that is never connectable by another user: bound in a private staging
   * directory, made 0600 there, and only then given its path; every call checked against the
   * connecting process's uid.
   */
  private static Server startOnUnixSocket(ServerTarget.Unix target, Supervisor supervisor, HealthStatusManager health,
      ServerSecurity security) throws IOException {
    prepareSocket(target.socket());
    try (StagedSocket staged = StagedSocket.create(target.socket())) {
      UnixPeers peers = new UnixPeers();
      NettyServerBuilder builder = UnixSockets.serverBuilder(staged.bindPath(), supervisor.io()).channelFactory(peers::newServerChannel);
      Server server = withServices(builder, supervisor, health, security)
          // Added last, so it runs first: a caller who is not the owner gets no further, not even to the token check.
          .intercept(new PeerCheck(staged.ownerUid(), security.token() != null, peers))
          .build();
      started(target, server);
      try {
        staged.publish();
      } catch (IOException e) {
        server.shutdownNow();
        throw e;
      }
      return server;
    }
  }

  private static Server started(ServerTarget target, Server server) throws IOException {
    try {
      return server.start();
    } catch (IOException e) {
      throw new IOException("cannot listen on " + target + ": " + e.getMessage(), e);
    }
  }

  /**
   * The offload service, the standard health service (overall and for offload.v1.Offload) and
   * server reflection, so that grpcurl, grpcui and Postman work without the .proto files; all
   * called on the I/O thread, within the service's request and stream limits, and all behind the
   * token when there is one, except a health {@code Check} (see {@link TokenCheck}).
   */
  private static <T extends ServerBuilder<T>> T withServices(T builder, Supervisor supervisor, HealthStatusManager health,
      ServerSecurity security) {
    Limits limits = supervisor.config().limits();
    builder.directExecutor()
        .maxInboundMessageSize(limits.maxRequestBytes())
        .intercept(new StreamLimit(limits.maxStreams()));
    if (security.token() != null) {
      builder.intercept(new TokenCheck(security.token())); // the last added runs first: before any limit
    }
    return builder
        .addService(supervisor.service())
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance());
  }

  /** Where the server listens; null for an in-process server. */
  public ServerTarget target() {
    return target;
  }

  /** Stops taking calls and lets the calls under way finish. */
  public void shutdown() {
    server.shutdown();
    Server health = healthOnly;
    if (health != null) {
      health.shutdown();
    }
  }

  /**
   * Waits for the server to stop, at most {@code limit}, then cuts any call still open, frees the
   * socket and ends the supervisor's I/O thread (call it after the supervisor has shut down).
   */
  public void awaitTermination(Duration limit) throws InterruptedException {
    if (!server.awaitTermination(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      server.shutdownNow();
      server.awaitTermination(1, TimeUnit.SECONDS);
    }
    Server health = healthOnly;
    if (health != null) {
      // Its only stream, Watch, ends at the health service's terminal state: a moment is enough.
      health.shutdownNow();
      health.awaitTermination(1, TimeUnit.SECONDS);
    }
    supervisor.closeIo();
    if (target instanceof ServerTarget.Unix unix) {
      try {
        Files.deleteIfExists(unix.socket());
      } catch (IOException ignored) {
        // A later server replaces a stale socket file anyway.
      }
    }
  }

  /**
   * Makes a Unix socket's private directory and refuses a target it must not serve on (a
   * directory others can write to, a socket another service answers on); for a command to call
   * before it starts any worker. {@link #start} checks again. Other targets pass.
   *
   * @throws UnsafeDirectoryException if others can write to the socket's directory
   */
  public static void checkTarget(ServerTarget target) throws IOException {
    if (target instanceof ServerTarget.Unix unix) {
      prepareSocket(unix.socket());
    }
  }

  private static void prepareSocket(Path socket) throws IOException {
    Path dir = socket.getParent();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      // The umask can only narrow mkdir's mode; set it outright, so that even umask 777 leaves it usable.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
    if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new UnsafeDirectoryException("refusing to serve in " + dir + ": others can write to it ("
          + PosixFilePermissions.toString(perms) + "), so they could replace the socket; use a directory only you can write to");
    }
    if (UnixSockets.answers(socket)) {
      throw new IOException("another offload service is already serving on unix:" + socket
          + "; stop it with 'offload shutdown' or choose another --listen");
    }
    Files.deleteIfExists(socket);
  }
}
