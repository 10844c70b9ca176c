package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/offload chooses the class-data-sharing archive of a command talking to a service when
 * that service's socket is where the command will look (scripts/lib/target.sh). For the default
 * socket, that is where Java puts it: under the user's name as Java reads it, whatever $USER says.
 * Without $USER (cron, containers) the launcher once looked in {@code offload-/} and mapped the
 * larger archive, which cost every {@code offload run} 70 ms.
 */
class LauncherTargetIT {

  private static final Path TARGET_SH = Path.of(System.getProperty("offload.test.projectRoot", ".."))
      .toAbsolutePath().normalize().resolve("scripts/lib/target.sh");

  @TempDir Path runtimeDir;

  @Test
  void theDefaultSocketIsFoundUnderJavasUserName_withoutUserOrLogname() throws Exception {
    listenAtTheDefaultSocket();
    assertEquals(0, socketThere(Map.of(), "run", "echo", "1"));
  }

  @Test
  void theDefaultSocketIsFoundUnderJavasUserName_whenUserNamesSomeoneElse() throws Exception {
    listenAtTheDefaultSocket();
    assertEquals(0, socketThere(Map.of("USER", "someone-else", "LOGNAME", "someone-else"), "run", "echo", "1"));
  }

  @Test
  void noSocketThereIsNoSocket_andServerNamesAnother() throws Exception {
    assertEquals(1, socketThere(Map.of(), "run", "echo", "1"));
    listenAtTheDefaultSocket();
    assertEquals(1, socketThere(Map.of(), "run", "echo", "1", "--server", "unix:" + runtimeDir.resolve("elsewhere.sock")));
    assertEquals(0, socketThere(Map.of(), "run", "echo", "1", "--server=unix:" + defaultSocket()));
  }

  /** Where ServerTarget's default puts the socket with $XDG_RUNTIME_DIR at {@link #runtimeDir}. */
  private Path defaultSocket() {
    return runtimeDir.resolve("offload-" + System.getProperty("user.name")).resolve("offload.sock");
  }

  /** A Unix socket file at the default place; the test's directory removes it afterwards. */
  private void listenAtTheDefaultSocket() throws IOException {
    Files.createDirectories(defaultSocket().getParent());
    try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      listener.bind(UnixDomainSocketAddress.of(defaultSocket()));
    }
    assertTrue(Files.exists(defaultSocket()), "the socket file outlives its channel");
  }

  /** The status of target.sh's offload_service_socket_there for these arguments, with $USER and $LOGNAME unset unless given. */
  private int socketThere(Map<String, String> environment, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("bash", "-c", "source \"$0\" && offload_service_socket_there \"$@\"", TARGET_SH.toString()));
    command.addAll(List.of(args));
    ProcessBuilder bash = new ProcessBuilder(command);
    bash.environment().remove("USER");
    bash.environment().remove("LOGNAME");
    bash.environment().remove("OFFLOAD_SERVER");
    bash.environment().put("XDG_RUNTIME_DIR", runtimeDir.toString());
    bash.environment().putAll(environment);
    bash.redirectErrorStream(true);
    Process process = bash.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "bash did not exit");
    assertEquals("", output, "offload_service_socket_there writes nothing");
    return process.exitValue();
  }
}
