package dev.offload.sdk;

import java.util.concurrent.CancellationException;

/**
 * What a running job can see of the world: its id, whether it was cancelled, and a way to report
 * progress. One context belongs to one job; its methods may be called from any thread the handler
 * starts, and are cheap enough to call in a loop. The worker implements it; handlers only use it.
 */
public interface JobContext {

  /** {@return the supervisor's id of this job, such as {@code j-42}} */
  String jobId();

  /**
   * {@return whether the job was cancelled or ran past its deadline} Once true it stays true; the
   * handler should stop soon, by returning or throwing. The job thread is also interrupted at that
   * moment.
   */
  boolean isCancelled();

  /**
   * Throws {@link CancellationException} if the job was cancelled; a one-line check for loops.
   *
   * @throws CancellationException if {@link #isCancelled()} is true
   */
  default void checkCancelled() {
    if (isCancelled()) {
      throw new CancellationException("job " + jobId() + " was cancelled");
    }
  }

  /**
   * Reports how far the job has come. Reports are sent to the job's watchers; reports closer
   * together than a few tens of milliseconds may be dropped, except the one for completion.
   *
   * @param fraction from 0.0 to 1.0, or a negative number when the amount is unknown
   * @param message a short message for people, or an empty string
   */
  void reportProgress(double fraction, String message);

  /** {@return a logger whose lines go to this worker's log file, tagged with the job id} */
  System.Logger logger();
}
