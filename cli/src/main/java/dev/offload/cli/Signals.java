package dev.offload.cli;

import java.time.Duration;
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

  /**
   * Signals that come this soon after the first are the same request, not a second one:
   * {@code timeout(1)} signals the command and then, at once, its whole process group, and a
   * terminal that closes hangs up the group as its shell hangs up its jobs. A person's second
   * Ctrl-C comes later than that.
   */
  static final Duration SAME_REQUEST = Duration.ofMillis(500);

  private Signals() {}

  /**
   * Handles each named signal (such as {@code INT}, {@code TERM}): {@code first} runs on the first
   * one, {@code second} on any later one that comes {@link #SAME_REQUEST} or more after it. Both
   * run on a thread of the JVM's signal dispatcher and must return soon.
   */
  static void handle(Runnable first, Runnable second, String... names) {
    handle(signal -> first.run(), signal -> second.run(), names);
  }

  /** As {@link #handle(Runnable, Runnable, String...)}, handing each the number of the signal. */
  static void handle(IntConsumer first, IntConsumer second, String... names) {
    Requests requests = new Requests();
    for (String name : names) {
      Signal.handle(new Signal(name), signal -> {
        switch (requests.classify(System.nanoTime())) {
          case FIRST -> first.accept(signal.getNumber());
          case SECOND -> second.accept(signal.getNumber());
          case REPEAT -> { } // the first one again, sent twice
        }
      });
    }
  }

  /** What one signal is, given when it came. */
  enum Kind { FIRST, REPEAT, SECOND }

  /** Tells a first signal from its repeats and from a second one. Thread-safe. */
  static final class Requests {
    private boolean seen;
    private long firstAtNanos;

    synchronized Kind classify(long nowNanos) {
      if (!seen) {
        seen = true;
        firstAtNanos = nowNanos;
        return Kind.FIRST;
      }
      return nowNanos - firstAtNanos < SAME_REQUEST.toNanos() ? Kind.REPEAT : Kind.SECOND;
    }
  }
}
