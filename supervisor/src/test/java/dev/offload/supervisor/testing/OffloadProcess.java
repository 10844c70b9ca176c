package dev.offload.supervisor.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines that run the offload CLI as its own process, from the build's runnable lib/. */
public final class OffloadProcess {

  private OffloadProcess() {}

  /**
   * {@code java [jvmOptions] -cp target/lib/* dev.offload.supervisor.cli.Main args...}, with SIGINT,
   * SIGTERM and SIGHUP set back to their defaults first: a test JVM started from a background shell
   * inherits SIGINT ignored (and under nohup SIGHUP), and a process that ignores a signal cannot
   * show what the signal does.
   */
  public static List<String> command(List<String> jvmOptions, String... args) {
    List<String> command = new ArrayList<>(List.of("env", "--default-signal=INT,TERM,HUP",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED"));
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", Path.of("target", "lib").toAbsolutePath() + "/*", "dev.offload.supervisor.cli.Main"));
    command.addAll(List.of(args));
    return command;
  }
}
