package dev.offload.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolDirectoryTest {

  @TempDir Path tmp;

  private static final long SELF = ProcessHandle.current().pid();

  /** The pid of a process that has ended (and been reaped). */
  private static long deadPid() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    assertTrue(gone.waitFor(10, TimeUnit.SECONDS));
    return gone.pid();
  }

  /** A pool directory as another supervisor would have left it, with a socket file and a log. */
  private Path leftBehind(long pid, String start) throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("offload-pool-" + pid + "-" + start + "-x1"));
    Files.writeString(dir.resolve("w1-0.sock"), "");
    Files.writeString(dir.resolve("w1-0.log"), "a line");
    return dir;
  }

  @Test
  void create_namesAPrivateDirectoryAfterThisProcess() throws Exception {
    Path dir = PoolDirectory.create(tmp).dir();

    assertTrue(dir.getFileName().toString().startsWith("offload-pool-" + SELF + "-" + PoolDirectory.startToken(SELF).orElseThrow() + "-"),
        dir.toString());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    assertFalse(PoolDirectory.isOwnerGone(dir));
    assertFalse(PoolDirectory.create(tmp).dir().equals(dir), "a second pool of the same process gets its own");
  }

  @Test
  void create_removesTheDirectoriesOfSupervisorsThatAreGone_only() throws Exception {
    Path deadOwner = leftBehind(deadPid(), "1a2b");
    Path pidReused = leftBehind(SELF, "1"); // this pid, but another process's start time
    Path liveOwner = leftBehind(SELF, PoolDirectory.startToken(SELF).orElseThrow());
    Path notAPool = Files.createDirectory(tmp.resolve("offload-pool-of-something-else"));

    PoolDirectory.Created created = PoolDirectory.create(tmp);

    assertEquals(List.of(), created.notRemoved());
    assertEquals(2, created.removed().size(), created.removed().toString());
    assertFalse(Files.exists(deadOwner));
    assertFalse(Files.exists(pidReused));
    assertTrue(Files.exists(liveOwner.resolve("w1-0.sock")));
    assertTrue(Files.exists(notAPool));
  }

  @Test
  void removeIfAbandoned_leavesTheDirectoryToASiblingThatStillServes() throws Exception {
    Path dir = leftBehind(deadPid(), "1a2b"); // w1-0.sock there is stale: nothing listens
    try (ServerSocketChannel sibling = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      sibling.bind(UnixDomainSocketAddress.of(dir.resolve("w2-0.sock")));

      PoolDirectory.removeIfAbandoned(dir, Duration.ofMillis(100));

      assertTrue(Files.exists(dir.resolve("w1-0.sock")), "a sibling still serves: the directory is its to remove");
    }
  }

  @Test
  void removeIfAbandoned_waitsForASiblingThatExitsToo_thenTakesStaleSocketsAndLogsWithIt() throws Exception {
    Path dir = leftBehind(deadPid(), "1a2b");
    ServerSocketChannel sibling = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    sibling.bind(UnixDomainSocketAddress.of(dir.resolve("w2-0.sock")));
    // It ends without removing its socket, as a worker killed with SIGKILL at that moment would.
    Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(200);
        sibling.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    PoolDirectory.removeIfAbandoned(dir, Duration.ofSeconds(30));

    assertFalse(Files.exists(dir));
  }

  @Test
  void removeIfAbandoned_leavesALiveSupervisorItsDirectory() throws Exception {
    // The stream to it broke, but it lives: it may be starting a replacement there.
    Path dir = leftBehind(SELF, PoolDirectory.startToken(SELF).orElseThrow());

    PoolDirectory.removeIfAbandoned(dir, Duration.ofMillis(100));

    assertTrue(Files.exists(dir.resolve("w1-0.log")));
  }

  @Test
  void removeIfAbandoned_emptiesNoDirectoryButAPools() throws Exception {
    Path other = Files.createDirectory(tmp.resolve("sockets"));
    Files.writeString(other.resolve("keep.txt"), "not ours");

    PoolDirectory.removeIfAbandoned(other, Duration.ofSeconds(1));

    assertTrue(Files.exists(other.resolve("keep.txt")));
  }
}
