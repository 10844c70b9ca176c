package dev.offload.supervisor.testing;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Sends Unix signals to processes, as an operator's {@code kill} would. */
public final class Signals {

  private Signals() {}

  public static void send(String signal, long pid) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IOException("kill -" + signal + " " + pid + " failed");
    }
  }
}
