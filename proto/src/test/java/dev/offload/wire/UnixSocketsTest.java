package dev.offload.wire;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.netty.channel.EventLoopGroup;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class UnixSocketsTest {

  private static final Duration CONNECT_LIMIT = Duration.ofSeconds(10);

  @TempDir Path dir;
  EventLoopGroup group;
  ListAppender<ILoggingEvent> events;

  /** Every library logger at its default level (the test's logback-test.xml may quiet some), warnings captured. */
  @BeforeEach
  void captureWarnings() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    for (String name : List.of("io.netty", "io.netty.bootstrap", "io.grpc")) {
      context.getLogger(name).setLevel(null);
    }
    events = new ListAppender<>();
    events.setContext(context);
    events.start();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(events);
    group = UnixSockets.newEventLoopGroup(1, "test-io");
  }

  @AfterEach
  void stop() {
    ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(events);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void connection_overAUnixSocket_logsNoWarning() throws Exception {
    Server server = UnixSockets.serverBuilder(dir.resolve("s.sock"), group).build().start();
    ManagedChannel channel = UnixSockets.channelBuilder(dir.resolve("s.sock"), group).build();
    try {
      // READY means both sides set the connection up: the channel connected and the server accepted.
      assertTrue(awaitReady(channel), "the channel did not connect within " + CONNECT_LIMIT.toSeconds() + " s: " + channel.getState(false));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertTrue(events.list.isEmpty(), "warnings logged: " + events.list);
  }

  @Test
  void answers_whileSomethingListens_andNotForAMissingOrLeftBehindSocketFile() throws Exception {
    Path socket = dir.resolve("probe.sock");
    assertFalse(UnixSockets.answers(socket), "no file");
    try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      listener.bind(UnixDomainSocketAddress.of(socket));
      assertTrue(UnixSockets.answers(socket), "a listener that has not accepted yet");
      assertTrue(UnixSockets.answers(socket), "a second probe, the first one's connection still unaccepted");
    }
    // Closing a listener leaves its file behind, as a service killed with -9 does.
    assertTrue(Files.exists(socket));
    assertFalse(UnixSockets.answers(socket), "a file nothing listens on");
  }

  private static boolean awaitReady(ManagedChannel channel) throws InterruptedException {
    long deadline = System.nanoTime() + CONNECT_LIMIT.toNanos();
    for (ConnectivityState state = channel.getState(true); state != ConnectivityState.READY; state = channel.getState(true)) {
      CountDownLatch changed = new CountDownLatch(1);
      channel.notifyWhenStateChanged(state, changed::countDown);
      if (!changed.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }
}
