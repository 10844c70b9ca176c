package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.ServeProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --log-level trace} with a token logs neither the token nor a wrong one a client
 * tried, nor any call's headers, in any log it writes: its stderr, offload.log and its workers'
 * logs. (Workers are called with no secret at all: see WorkerPeerIT and EmbeddedLoggingIT.)
 */
@ExtendWith(NoLeftoverProcesses.class)
class ServeLogSecretsIT {

  private static final String TOKEN = "token-that-no-log-may-show-4f1c";
  private static final String WRONG_TOKEN = "a-wrong-token-no-log-may-show-9d2e";

  @TempDir Path dir;

  @Test
  void serveAtTrace_logsNoTokenAnywhere() throws Exception {
    Path token = write("token", TOKEN);
    Path wrong = write("wrong-token", WRONG_TOKEN);
    String log;
    try (ServeProcess serve = ServeProcess.start(dir, List.of(), "--log-level", "trace", "--workers", "1", "--token-file", token.toString())) {
      Cli.Result ok = Cli.run("run", "is_prime", "7", "--server", serve.target(), "--token-file", token.toString());
      assertEquals(0, ok.exitCode(), ok.err());
      Cli.Result failed = Cli.run("run", "is_prime", "\"seven\"", "--server", serve.target(), "--token-file", token.toString());
      assertEquals(1, failed.exitCode(), failed.err());
      Cli.Result refused = Cli.run("stats", "--server", serve.target(), "--token-file", wrong.toString());
      assertEquals(2, refused.exitCode(), refused.err());
      serve.shutdown("--token-file", token.toString());
      log = serve.stderr() + "\n" + logsIn(dir.resolve("state"));
    }

    // The level took: every job transition is a debug line.
    assertTrue(log.contains("DEBUG") && log.contains("running on worker pid"), log);
    assertFalse(log.contains(TOKEN), "the token is in a log:\n" + log);
    assertFalse(log.contains(WRONG_TOKEN), "a client's wrong token is in a log:\n" + log);
    assertFalse(log.toLowerCase().contains("authorization"), "a call's authorization header is in a log:\n" + log);
    // What keeps them out: serve never turns on gRPC's frame logger, which prints every header.
    assertFalse(log.contains(" HEADERS: streamId="), "gRPC's frame logger is on:\n" + log);
  }

  private Path write(String name, String token) throws Exception {
    Path file = Files.writeString(dir.resolve(name), token + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  /** offload.log and every worker's log under a state directory, one after another. */
  private static String logsIn(Path state) throws Exception {
    try (Stream<Path> files = Files.walk(state)) {
      StringBuilder all = new StringBuilder();
      for (Path log : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        all.append("== ").append(log).append('\n').append(Files.readString(log));
      }
      return all.toString();
    }
  }
}
