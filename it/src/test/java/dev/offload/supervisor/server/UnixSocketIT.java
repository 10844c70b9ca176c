package dev.offload.supervisor.server;

import dev.offload.client.ServerTarget;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.supervisor.security.ServerSecurity;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.RunningService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service's Unix socket: at its path it is 0600 from the first moment, so no umask can make it
 * connectable by others even briefly; and a process of another user that reaches it anyway is
 * refused unless the service has a token.
 */
@ExtendWith(NoLeftoverProcesses.class)
class UnixSocketIT {

  /** The uid the other-user tests run a client as: nobody. */
  private static final int OTHER_UID = 65534;
  private static final String TOKEN = "a-token-of-at-least-22-characters";

  @TempDir Path dir;

  /**
   * inotify reports, in order, every entry made in a directory and every change of an entry's
   * mode: a socket that was chmod-ed after it appeared (under any umask) shows as modified.
   */
  @Test
  void socket_appearsAtItsPathWithItsFinalMode_andNoStagingIsLeft() throws Exception {
    Path socket = dir.resolve("offload.sock");
    List<String> events = new ArrayList<>();
    try (WatchService watcher = FileSystems.getDefault().newWatchService()) {
      dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
      try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals(1, service.client().wire().poolStatus().getWorkersCount(), "served at its path");
        try (Stream<Path> entries = Files.list(dir)) {
          assertEquals(List.of(socket), entries.toList(), "no staging directory left beside the socket");
        }
        // A marker made after start: once its event is seen, so is every event of the start.
        Files.writeString(dir.resolve("marker"), "");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!events.contains("ENTRY_CREATE marker") && System.nanoTime() < deadline) {
          WatchKey key = watcher.poll(100, TimeUnit.MILLISECONDS);
          if (key != null) {
            for (WatchEvent<?> event : key.pollEvents()) {
              events.add(event.kind().name() + " " + event.context());
            }
            key.reset();
          }
        }
      }
    }
    assertTrue(events.contains("ENTRY_CREATE marker"), "saw the marker: " + events);
    assertTrue(events.contains("ENTRY_CREATE offload.sock"), "saw the socket appear: " + events);
    assertTrue(!events.contains("ENTRY_MODIFY offload.sock"), "the socket changed after it appeared at its path: " + events);
  }

  @Test
  void anotherUser_isRefusedWithAMessage_whenTheServiceHasNoToken() throws Exception {
    assumeTrue(canRunAsAnotherUser(), "needs root and setpriv to run a client as uid " + OTHER_UID);
    Path open = openDirectory();
    try (RunningService service = RunningService.start(RunningService.config(1), open)) {
      Path socket = open.resolve("offload.sock");
      // As if someone loosened the socket: the file permissions would let another user in.
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));

      Result refused = runAsOtherUser("handlers", "--server", "unix:" + socket);

      assertEquals(2, refused.exitCode(), refused.output());
      assertTrue(refused.output().contains("serves only its owner") && refused.output().contains("uid " + OTHER_UID)
          && refused.output().contains("--token-file"), refused.output());
      assertTrue(!service.client().wire().handlers().isEmpty(), "the owner is still served");
    }
  }

  @Test
  void anotherUser_withTheToken_isServed_whenTheServiceHasOne() throws Exception {
    assumeTrue(canRunAsAnotherUser(), "needs root and setpriv to run a client as uid " + OTHER_UID);
    Path open = openDirectory();
    Path tokenFile = Files.writeString(open.resolve("token"), TOKEN + "\n");
    Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-r--r--")); // the other user's copy
    try (RunningService service = RunningService.start(RunningService.config(1), dir)) {
      ServerTarget.Unix target = new ServerTarget.Unix(open.resolve("offload.sock"));
      OffloadServer withToken = OffloadServer.start(target, service.supervisor(), new ServerSecurity(TOKEN, null, null));
      try {
        Files.setPosixFilePermissions(target.socket(), PosixFilePermissions.fromString("rw-rw-rw-"));

        Result served = runAsOtherUser("handlers", "--server", target.toString(), "--token-file", tokenFile.toString());
        Result noToken = runAsOtherUser("handlers", "--server", target.toString());

        assertEquals(0, served.exitCode(), served.output());
        assertTrue(served.output().contains("is_prime"), served.output());
        assertEquals(2, noToken.exitCode(), noToken.output());
        assertTrue(noToken.output().contains("needs a token"), noToken.output());
      } finally {
        withToken.shutdown(); // its connections end with the I/O thread, which service.close() ends last
      }
    }
  }

  private record Result(int exitCode, String output) {}

  /**
   * The CLI as its own process, run as uid 65534 (nobody), stdout and stderr together, from a copy
   * of its class path that nobody can read: the build's own may lie in a private directory (a
   * clone in a 0700 temporary directory, a home directory).
   */
  private Result runAsOtherUser(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + OTHER_UID, "--regid=" + OTHER_UID, "--clear-groups"));
    List<String> cli = new ArrayList<>(OffloadProcess.command(List.of(), args));
    cli.set(cli.indexOf("-cp") + 1, readableLib() + "/*");
    command.addAll(cli);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the client exited");
    return new Result(process.exitValue(), output);
  }

  /** A copy of the runnable lib/ folder, in a directory (made open to others) that others may read. */
  private Path readableLib() throws IOException {
    Path lib = dir.resolve("lib");
    if (!Files.isDirectory(lib)) {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.createDirectory(lib, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      try (Stream<Path> jars = Files.list(OffloadProcess.cliLib())) {
        for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
          Files.setPosixFilePermissions(Files.copy(jar, lib.resolve(jar.getFileName())), PosixFilePermissions.fromString("rw-r--r--"));
        }
      }
    }
    return lib;
  }

  /** A directory others may enter but not write to, as a shared parent directory would be. */
  private Path openDirectory() throws IOException {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return Files.createDirectory(dir.resolve("open"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
  }

  private static boolean canRunAsAnotherUser() throws IOException, InterruptedException {
    if (!System.getProperty("user.name").equals("root") || !Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
      return false;
    }
    Process probe = new ProcessBuilder("setpriv", "--reuid=" + OTHER_UID, "--regid=" + OTHER_UID, "--clear-groups", "true").start();
    return probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0;
  }
}
