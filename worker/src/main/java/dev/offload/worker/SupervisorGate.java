package dev.offload.worker;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets only its supervisor into a worker's socket: the process that started the worker, which the
 * kernel names as the peer of each connection ({@code SO_PEERCRED}, the pid of the process that
 * connected), read as the connection is accepted and before it carries a byte. A connection from
 * any other process is closed at once, and the worker's log says whose it was. Nothing secret
 * travels, so nothing secret can reach a log, whatever the levels of gRPC's and Netty's loggers;
 * the socket's private directory (0700) keeps other users from reaching it at all.
 */
final class SupervisorGate {

  private static final Logger LOG = LoggerFactory.getLogger(SupervisorGate.class);

  private final long supervisorPid;

  /** @param supervisorPid the only process let in: the worker's parent */
  SupervisorGate(long supervisorPid) {
    this.supervisorPid = supervisorPid;
  }

  /**
   * A server channel, for {@code NettyServerBuilder.channelFactory}, that closes every accepted
   * connection not from the supervisor before gRPC sees it.
   */
  ServerChannel newServerChannel() {
    EpollServerDomainSocketChannel server = new EpollServerDomainSocketChannel();
    // First in the pipeline, so before the acceptor that hands each connection to gRPC.
    server.pipeline().addFirst(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object accepted) {
        if (!admits((Channel) accepted)) {
          // Not registered with an event loop yet, so closed directly.
          ((Channel) accepted).unsafe().closeForcibly();
          return;
        }
        ctx.fireChannelRead(accepted);
      }
    });
    return server;
  }

  /** Whether a connection comes from the supervisor; says in the log why not. */
  private boolean admits(Channel accepted) {
    if (!(accepted instanceof EpollDomainSocketChannel connection)) {
      LOG.warn("refused a connection of an unexpected kind (" + accepted.getClass().getName() + "): its peer cannot be told");
      return false;
    }
    PeerCredentials peer;
    try {
      peer = connection.peerCredentials();
    } catch (IOException e) {
      LOG.warn("refused a connection whose peer could not be read (SO_PEERCRED): " + e.getMessage());
      return false;
    }
    if (peer.pid() == supervisorPid) {
      return true;
    }
    LOG.warn("refused a connection from pid " + peer.pid() + " (uid " + peer.uid() + "): this worker serves only its"
        + " supervisor, pid " + supervisorPid + ", the process that started it");
    return false;
  }
}
