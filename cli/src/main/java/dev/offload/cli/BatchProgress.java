package dev.offload.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The progress bar of a batch on stderr (done, failed, rate, ETA), or nothing. */
interface BatchProgress extends AutoCloseable {

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

  /** A bar drawn on {@code stderr}; {@code total} is the number of lines, or -1 if unknown. */
  static BatchProgress bar(PrintStream stderr, long total) {
    ProgressBar bar = new ProgressBarBuilder()
        .setTaskName("batch")
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
