package dev.offload.supervisor.cli;

import sun.misc.Signal;

/**
 * Ctrl-C and {@code kill} for long-running commands: the first signal asks for an orderly stop,
 * a second one for an immediate one. (Shutdown hooks cannot tell a first signal from a second,
 * hence {@code sun.misc.Signal}, which the JDK keeps for exactly this.)
 */
final class Signals {

  private Signals() {}

  /**
   * Handles each named signal (such as {@code INT}, {@code TERM}): {@code first} runs on the first
   * one, {@code second} on any later one. Both run on the JVM's signal thread and must return soon.
   */
  static void handle(Runnable first, Runnable second, String... names) {
    var seen = new java.util.concurrent.atomic.AtomicInteger();
    for (String name : names) {
      Signal.handle(new Signal(name), signal -> {
        if (seen.getAndIncrement() == 0) {
          first.run();
        } else {
          second.run();
        }
      });
    }
  }
}
