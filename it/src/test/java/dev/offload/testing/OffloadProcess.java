package dev.offload.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines that run the offload CLI as its own process, from the build's runnable lib/. */
public final class OffloadProcess {

  private OffloadProcess() {}

  /**
   * {@code java [jvmOptions] -cp cli/target/lib/* dev.offload.cli.Main args...}, with the worker
   * distribution and class-data-sharing archive the launcher gives it, and with SIGINT,
   * SIGTERM and SIGHUP set back to their defaults first: a test JVM started from a background shell
   * inherits SIGINT ignored (and under nohup SIGHUP), and a process that ignores a signal cannot
   * show what the signal does.
   */
  public static List<String> command(List<String> jvmOptions, String... args) {
    List<String> command = new ArrayList<>(List.of("env", "--default-signal=INT,TERM,HUP",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED"));
    for (String property : List.of("offload.worker.home", "offload.worker.cds")) {
      if (System.getProperty(property) != null) {
        command.add("-D" + property + "=" + System.getProperty(property));
      }
    }
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", cliLib() + "/*", "dev.offload.cli.Main"));
    command.addAll(List.of(args));
    return command;
  }

  /** The CLI's runnable lib/ directory, as the build made it. */
  public static Path cliLib() {
    return Path.of(System.getProperty("offload.test.cliLib", "../cli/target/lib")).toAbsolutePath();
  }
}
