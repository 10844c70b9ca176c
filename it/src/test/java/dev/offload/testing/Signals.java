package dev.offload.testing;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Sends Unix signals to processes, as an operator's {@code kill} would. */
public final class Signals {

  private Signals() {}

  public static void send(String signal, long pid) throws IOException, InterruptedException {
    run(new ProcessBuilder("kill", "-" + signal, Long.toString(pid)), "kill -" + signal + " " + pid);
  }

  /**
   * Sends a signal twice, back to back, as {@code timeout(1)} does (to the process, then to its
   * process group) and as a closing terminal may (the group's hangup, then the shell's).
   */
  public static void sendTwiceAtOnce(String signal, long pid) throws IOException, InterruptedException {
    String kill = "kill -" + signal + " " + pid;
    run(new ProcessBuilder("sh", "-c", kill + " && " + kill), kill + " twice");
  }

  private static void run(ProcessBuilder kill, String what) throws IOException, InterruptedException {
    Process process = kill.inheritIO().start();
    if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException(what + " failed");
    }
  }
}
