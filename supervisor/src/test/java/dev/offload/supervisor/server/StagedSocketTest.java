package dev.offload.supervisor.server;

import dev.offload.wire.UnixSockets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A socket bound in private and then published at its path, never over what is there. */
class StagedSocketTest {

  @TempDir Path dir;

  @Test
  void publish_socketAnswersAtItsPath_0600_stagingGone() throws IOException {
    Path socket = dir.resolve("offload.sock");
    try (StagedSocket staged = StagedSocket.create(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(staged.bindPath().getParent())));
      server.bind(UnixDomainSocketAddress.of(staged.bindPath()));
      assertFalse(Files.exists(socket), "nothing at the path before it is published");

      staged.publish();

      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
      assertTrue(UnixSockets.answers(socket));
      assertEquals(List.of(socket), entries());
    }
  }

  @Test
  void publish_somethingAtThePath_isLeftAlone_andRefusedNamingIt() throws IOException {
    Path socket = dir.resolve("offload.sock");
    Files.writeString(socket, "another service's");
    try (StagedSocket staged = StagedSocket.create(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(staged.bindPath()));

      IOException e = assertThrows(IOException.class, staged::publish);

      assertTrue(e.getMessage().contains("unix:" + socket), e.getMessage());
      assertEquals("another service's", Files.readString(socket));
    }
    assertEquals(List.of(socket), entries(), "the staging directory is removed anyway");
  }

  @Test
  void create_removesTheStagingThatADeadProcessLeft() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path leftover = Files.createDirectory(dir.resolve(".offload.sock-" + gone.pid() + ".1"));
    Files.writeString(leftover.resolve("s"), "");

    try (StagedSocket staged = StagedSocket.create(dir.resolve("offload.sock"))) {
      assertFalse(Files.exists(leftover));
    }
  }

  @Test
  void create_pathTooLongOnceStaged_saysHowMuchShorter() {
    Path socket = dir.resolve("x".repeat(Math.max(1, 107 - dir.toString().length() - 1)));

    IOException e = assertThrows(IOException.class, () -> StagedSocket.create(socket));

    assertTrue(e.getMessage().contains("bytes shorter"), e.getMessage());
  }

  private List<Path> entries() throws IOException {
    try (Stream<Path> all = Files.list(dir)) {
      return all.toList();
    }
  }
}
