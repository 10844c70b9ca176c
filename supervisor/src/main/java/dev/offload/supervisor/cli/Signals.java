package dev.offload.supervisor.cli;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import sun.misc.Signal;

/**
 * Ctrl-C and {@code kill} for long-running commands: the first signal asks for an orderly stop,
 * a second one for an immediate one. (Shutdown hooks cannot tell a first signal from a second,
 * nor one signal from another, hence {@code sun.misc.Signal}, which the JDK keeps for exactly this.)
 */
final class Signals {

  /**
   * The signals that stop a client command that started something ({@code run}, {@code batch}):
   * Ctrl-C, {@code kill} (and {@code timeout}), and the terminal going away. Each makes it cancel
   * what it started and exit {@link ExitCodes#forSignal}. A signal ignored when the JVM started
   * (as {@code nohup} ignores SIGHUP) stays ignored.
   */
  static final String[] STOPPING = {"INT", "TERM", "HUP"};

  private Signals() {}

  /**
   * Handles each named signal (such as {@code INT}, {@code TERM}): {@code first} runs on the first
   * one, {@code second} on any later one. Both run on the JVM's signal thread and must return soon.
   */
  static void handle(Runnable first, Runnable second, String... names) {
    handle(signal -> first.run(), signal -> second.run(), names);
  }

  /** As {@link #handle(Runnable, Runnable, String...)}, handing each the number of the signal. */
  static void handle(IntConsumer first, IntConsumer second, String... names) {
    var seen = new AtomicInteger();
    for (String name : names) {
      Signal.handle(new Signal(name), signal -> {
        if (seen.getAndIncrement() == 0) {
          first.accept(signal.getNumber());
        } else {
          second.accept(signal.getNumber());
        }
      });
    }
  }
}
