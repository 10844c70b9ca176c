package dev.offload.supervisor.security;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is at the other end of each connection to a Unix-socket server: the kernel's {@code
 * SO_PEERCRED} (uid and pid of the process that connected), read once as the connection is
 * accepted, before it carries a byte.
 *
 * <p>gRPC does not hand a call its Netty channel (grpc-java issue 2646), but it does hand it the
 * channel's remote address ({@code Grpc.TRANSPORT_ATTR_REMOTE_ADDR}), the very object Netty made
 * for that connection. So peers are kept by the identity of that object, from accept to close. A
 * connection whose address cannot serve as a key (none, or one already in use) is closed at once:
 * a peer that cannot be told apart is never let in.
 *
 * <p>Thread-safe.
 */
public final class UnixPeers {

  private static final Logger LOG = LoggerFactory.getLogger(UnixPeers.class);

  /** A connected process as the kernel reports it; {@code uid} is -1 if it could not be read. */
  public record Peer(int uid, int pid) {
    static final Peer UNKNOWN = new Peer(-1, 0);

    boolean known() {
      return uid >= 0;
    }
  }

  /** One accepted connection: its peer, and whether a refusal of its calls was logged yet. */
  public static final class Connection {
    private final Peer peer;
    private final AtomicBoolean refusalLogged = new AtomicBoolean();

    Connection(Peer peer) {
      this.peer = peer;
    }

    public Peer peer() {
      return peer;
    }

    /** True the first time only: a refused peer's every call is refused, but logged once. */
    boolean firstRefusal() {
      return refusalLogged.compareAndSet(false, true);
    }
  }

  private final Map<SocketAddress, Connection> byAddress = Collections.synchronizedMap(new IdentityHashMap<>());

  /**
   * A server channel, for {@code NettyServerBuilder.channelFactory}, that records the peer of
   * every connection it accepts before gRPC sees the connection.
   */
  public ServerChannel newServerChannel() {
    EpollServerDomainSocketChannel server = new EpollServerDomainSocketChannel();
    // First in the pipeline, so before the acceptor that hands each connection to gRPC.
    server.pipeline().addFirst(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object accepted) {
        if (accepted instanceof EpollDomainSocketChannel connection && !record(connection)) {
          connection.unsafe().closeForcibly();
          return;
        }
        ctx.fireChannelRead(accepted);
      }
    });
    return server;
  }

  /** The connection with this remote address, or null if it is not one of ours. */
  public Connection connectionAt(SocketAddress remote) {
    return remote == null ? null : byAddress.get(remote);
  }

  /** Records a new connection's peer until it closes; false if it cannot be told apart. */
  private boolean record(EpollDomainSocketChannel connection) {
    SocketAddress key = connection.remoteAddress();
    Peer peer;
    try {
      PeerCredentials credentials = connection.peerCredentials();
      peer = new Peer(credentials.uid(), credentials.pid());
    } catch (IOException e) {
      LOG.warn("could not read the credentials (SO_PEERCRED) of a connection to the service's socket: " + e.getMessage());
      peer = Peer.UNKNOWN;
    }
    if (key == null || byAddress.putIfAbsent(key, new Connection(peer)) != null) {
      LOG.warn("closed a connection to the service's socket from uid " + peer.uid() + " (pid " + peer.pid()
          + "): its address cannot tell it apart from another connection");
      return false;
    }
    connection.closeFuture().addListener(closed -> byAddress.remove(key));
    return true;
  }
}
