package dev.offload.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines that run the offload CLI as its own process, from the build's runnable lib/. */
public final class OffloadProcess {

  private OffloadProcess() {}

  /**
   * {@code java [the launcher's options] [jvmOptions] -cp cli/target/lib/* dev.offload.cli.Main
   * args...}, as {@code scripts/offload} runs it: with the worker distribution and its
   * class-data-sharing archive, the CLI's own archive if the build made one (client.jsa, with
   * unpooled Netty buffers and fewer compiles, for a command that only talks to a running service,
   * see {@link #talksToRunningService}), Netty's native library as the build unpacked it, the JVM's
   * warnings on stderr, and, for every command but {@code serve} and {@code bench}, C1 only and the
   * serial GC. So a test runs what a user runs, and each JVM it starts costs what it costs them (a
   * {@code serve} up and serving: about 2.5 s of CPU so, 3.5–4 s without the archive and the
   * launcher's Netty settings, measured on 2 busy cores). {@code jvmOptions} come after the
   * launcher's and so win over them. SIGINT, SIGTERM and SIGHUP are set back to their defaults
   * first: a test JVM started from a background shell inherits SIGINT ignored (and under nohup
   * SIGHUP), and a process that ignores a signal cannot show what the signal does.
   */
  public static List<String> command(List<String> jvmOptions, String... args) {
    List<String> command = new ArrayList<>(List.of("env", "--default-signal=INT,TERM,HUP",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
        "-Xlog:disable", "-Xlog:all=warning:stderr"));
    for (String property : List.of("offload.worker.home", "offload.worker.cds")) {
      if (System.getProperty(property) != null) {
        command.add("-D" + property + "=" + System.getProperty(property));
      }
    }
    if (Runtime.version().feature() >= 23) {
      command.add("--sun-misc-unsafe-memory-access=allow");
    }
    command.add("-Dio.netty.jfr.enabled=false");
    Path natives = cliLib().resolveSibling("native");
    if (Files.isDirectory(natives)) {
      command.add("-Djava.library.path=" + natives);
    }
    Path cds = cliLib().resolveSibling("cds");
    Path archive = cds.resolve(talksToRunningService(args) ? "client.jsa" : "cli.jsa");
    if (!Files.exists(archive)) {
      archive = cds.resolve("cli.jsa");
    }
    if (Files.exists(archive)) {
      command.add("-XX:SharedArchiveFile=" + archive);
    }
    if (archive.endsWith("client.jsa")) {
      command.addAll(List.of("-Dio.netty.allocator.type=unpooled", "-Dio.grpc.netty.useCustomAllocator=false", "-XX:CompileThresholdScaling=8"));
    }
    if (args.length == 0 || !List.of("serve", "bench").contains(args[0])) {
      command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    }
    if (args.length > 0 && args[0].equals("serve")) {
      command.addAll(List.of("-XX:+ExitOnOutOfMemoryError", "-XX:+DisplayVMOutputToStderr"));
    }
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", cliLib() + "/*", "dev.offload.cli.Main"));
    command.addAll(List.of(args));
    return command;
  }

  /**
   * Whether the launcher takes these arguments for a command that only talks to a running
   * service, and so gives it client.jsa and unpooled Netty buffers: any command but {@code serve},
   * {@code bench}, {@code batch} and {@code each}, and {@code run} when its {@code --server} names
   * a TCP target or a Unix socket that is there. Tests name their service with {@code --server}, so
   * neither {@code $OFFLOAD_SERVER} nor the default socket is looked at.
   */
  private static boolean talksToRunningService(String... args) {
    if (args.length == 0) {
      return true;
    }
    if (List.of("serve", "bench", "batch", "each").contains(args[0])) {
      return false;
    }
    if (!args[0].equals("run")) {
      return true;
    }
    String target = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--server") && i + 1 < args.length) {
        target = args[++i];
      } else if (args[i].startsWith("--server=")) {
        target = args[i].substring("--server=".length());
      }
    }
    if (target == null) {
      return false;
    }
    if (!target.startsWith("unix:")) {
      return true;
    }
    Path socket = Path.of(target.substring("unix:".length())); // the launcher's [ -S ]: there, and neither a file nor a directory
    return Files.exists(socket) && !Files.isRegularFile(socket) && !Files.isDirectory(socket);
  }

  /** The CLI's runnable lib/ directory, as the build made it. */
  public static Path cliLib() {
    return Path.of(System.getProperty("offload.test.cliLib", "../cli/target/lib")).toAbsolutePath();
  }
}
