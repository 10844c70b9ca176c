package dev.offload.wire;

import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.Socket;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadFactory;

/**
 * gRPC over Unix domain sockets with Netty's epoll transport, for servers and channels alike. The
 * caller owns the event loop group it passes in and shuts it down after the server or channel.
 *
 * <p>gRPC sets {@code SO_KEEPALIVE} on every connection it makes or accepts, a TCP option that a
 * Unix socket does not have, and Netty warns of an unknown option on each such connection. Both
 * builders here remove the option again: Netty takes a null value as "remove this option", and
 * gRPC applies the builder's options after its own.
 */
public final class UnixSockets {

  /**
   * The longest socket path Linux accepts (sun_path is 108 bytes including the terminating NUL).
   */
  public static final int MAX_PATH_BYTES = 107;

  private UnixSockets() {}

  /**
   * A group of epoll event loops whose threads are daemons named after {@code name}.
   *
   * @param threads how many event loops
   * @param name the threads' name, which a number follows
   * @return the group; the caller shuts it down
   */
  public static EventLoopGroup newEventLoopGroup(int threads, String name) {
    ThreadFactory factory = Thread.ofPlatform().name(name + "-", 0).daemon(true).factory();
    return new MultiThreadIoEventLoopGroup(threads, factory, EpollIoHandler.newFactory());
  }

  /**
   * A server builder bound to a socket file, on the given event loops.
   *
   * @param socket the socket file to create, at most {@value #MAX_PATH_BYTES} bytes long
   * @param group the event loops of the server and its connections
   * @return the builder
   */
  public static NettyServerBuilder serverBuilder(Path socket, EventLoopGroup group) {
    return NettyServerBuilder.forAddress(new DomainSocketAddress(checked(socket).toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group)
        .workerEventLoopGroup(group)
        .withChildOption(ChannelOption.SO_KEEPALIVE, null);
  }

  /**
   * A plaintext channel builder for a socket file, on the given event loops.
   *
   * @param socket the socket file to connect to, at most {@value #MAX_PATH_BYTES} bytes long
   * @param group the event loops of the channel
   * @return the builder
   */
  public static NettyChannelBuilder channelBuilder(Path socket, EventLoopGroup group) {
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(checked(socket).toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        .withOption(ChannelOption.SO_KEEPALIVE, null)
        .usePlaintext();
  }

  /**
   * Whether anything accepts connections on a socket file now.
   *
   * <p>With Netty's native socket, which the channel that follows loads anyway: the JDK's Unix
   * socket channel sets up a SecureRandom and the security providers on first use (for names of
   * sockets it binds itself), 2% of an {@code offload run}. The socket does not block: a
   * connection the listener has not accepted yet is made, or refused with EAGAIN when its backlog
   * is full, which means it is there too.
   *
   * @param socket the socket file
   * @return true if a connection to it succeeded
   */
  public static boolean answers(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    Epoll.ensureAvailability();
    Socket probe = Socket.newSocketDomain();
    try {
      probe.connect(new DomainSocketAddress(socket.toString()));
      return true;
    } catch (Errors.NativeIoException e) {
      return e.expectedErr() == Errors.ERRNO_EAGAIN_NEGATIVE;
    } catch (IOException e) {
      return false;
    } finally {
      try {
        probe.close();
      } catch (IOException ignored) {
        // nothing was sent on it
      }
    }
  }

  private static Path checked(Path socket) {
    if (socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
      throw new IllegalArgumentException(
          "socket path is longer than " + MAX_PATH_BYTES + " bytes, which Unix sockets cannot use: "
              + socket + "; choose a shorter path");
    }
    return socket;
  }
}
