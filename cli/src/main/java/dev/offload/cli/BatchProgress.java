package dev.offload.cli;

import java.io.PrintStream;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The progress bar of a batch ({@code batch}, {@code each}) on stderr (done, failed, rate, ETA), or nothing. */
interface BatchProgress extends AutoCloseable {

  /** When to draw the bar, as {@code --progress} says. */
  enum Mode { auto, always, never }

  /** One more line has its result; {@code failed} is how many did not succeed so far. */
  void step(long failed);

  @Override
  void close();

  static BatchProgress none() {
    return new BatchProgress() {
      @Override
      public void step(long failed) {}

      @Override
      public void close() {}
    };
  }

  /**
   * The bar {@code --progress} asks for: with {@code auto}, drawn when stderr is a terminal (as
   * the launcher tells); {@code total} is asked for only when it is drawn.
   */
  static BatchProgress of(Mode mode, String command, LongSupplier total) {
    boolean show = switch (mode) {
      case always -> true;
      case never -> false;
      case auto -> Boolean.getBoolean("offload.stderr.tty");
    };
    return show ? bar(command, System.err, total.getAsLong()) : none();
  }

  /**
   * A bar drawn on {@code stderr}, named after the command; {@code total} is the number of jobs,
   * or -1 if unknown.
   */
  static BatchProgress bar(String command, PrintStream stderr, long total) {
    ProgressBar bar = new ProgressBarBuilder()
        .setTaskName(command)
        .setInitialMax(total)
        .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
        .showSpeed()
        .setUpdateIntervalMillis(200)
        .setConsumer(new ConsoleProgressBarConsumer(stderr))
        .build();
    return new BatchProgress() {
      @Override
      public void step(long failed) {
        bar.step();
        if (failed > 0) {
          bar.setExtraMessage(failed + " failed");
        }
      }

      @Override
      public void close() {
        bar.close();
      }
    };
  }
}
