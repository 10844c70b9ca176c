package dev.offload.cli;

import dev.offload.proto.v1.JobEvent;
import java.io.PrintStream;
import java.util.function.Consumer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * The progress a running handler reports (through its context), drawn as a bar on stderr for
 * {@code offload run}. The bar appears with the first report, so quick jobs draw nothing.
 */
final class JobProgressBar implements Consumer<JobEvent>, AutoCloseable {

  private static final int SCALE = 1000;

  private final PrintStream stderr;
  private ProgressBar bar;

  JobProgressBar(PrintStream stderr) {
    this.stderr = stderr;
  }

  @Override
  public synchronized void accept(JobEvent event) {
    if (!event.hasProgress()) {
      return;
    }
    if (bar == null) {
      bar = new ProgressBarBuilder().setTaskName("job").setInitialMax(SCALE).setUnit("%", SCALE / 100)
          .setConsumer(new ConsoleProgressBarConsumer(stderr)).build();
    }
    double fraction = event.getProgress().getFraction();
    if (fraction >= 0) {
      bar.stepTo(Math.round(fraction * SCALE));
    }
    bar.setExtraMessage(event.getProgress().getMessage());
  }

  @Override
  public synchronized void close() {
    if (bar != null) {
      bar.close();
    }
  }
}
