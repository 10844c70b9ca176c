package dev.offload.cli;

import dev.offload.proto.v1.JobState;
import io.grpc.Status;

/**
 * The exit codes of every offload command, in one place; the README's table is this one. Scripts
 * branch on them, so they never change meaning.
 */
public final class ExitCodes {

  /** The job succeeded (or the command did what it was asked). */
  public static final int OK = 0;
  /** The job FAILED, or did not succeed for another reason the message gives. */
  public static final int FAILED = 1;
  /**
   * A usage error or invalid input (unknown handler, malformed JSON, a short token, a directory
   * others can write to, an idempotency key given to another job): rejected before running. Also {@code result} of an output the service
   * no longer holds (expired, or dropped by {@code --finished-memory}).
   */
  public static final int USAGE = 2;
  /** No service answers, it is shutting down, or its queue is full. */
  public static final int UNAVAILABLE = 3;
  /** The job was CANCELLED or TIMED_OUT. */
  public static final int CANCELLED = 4;

  /**
   * {@code offload each}: an error that is not a job's (bad arguments, a malformed template, no
   * service, a stream that failed). {@code each} exits with a count of failed jobs instead of
   * the codes above (see {@link #forFailedJobs}), so its other errors take a code no count has.
   */
  public static final int EACH_ERROR = 255;
  /** {@code offload each}: more than {@value #MAX_COUNTED_FAILURES} jobs did not succeed. */
  public static final int MORE_FAILED = 101;
  /** The most failed jobs {@code offload each}'s exit code counts one by one, as GNU parallel's. */
  public static final int MAX_COUNTED_FAILURES = 100;

  private ExitCodes() {}

  /**
   * The exit code of {@code offload each}, as GNU parallel's: the number of jobs that did not
   * succeed, 1 to {@value #MAX_COUNTED_FAILURES}, or {@value #MORE_FAILED} for more; 0 if all did.
   *
   * @param failed how many jobs did not succeed
   * @return the exit code
   */
  public static int forFailedJobs(long failed) {
    return failed > MAX_COUNTED_FAILURES ? MORE_FAILED : (int) failed;
  }

  /**
   * The exit code of a command stopped by a signal: 128 + its number, as a shell reports a process
   * the signal killed (SIGHUP 129, SIGINT 130, SIGTERM 143), so scripts read it the same either way.
   *
   * @param number the signal's number
   * @return the exit code
   */
  public static int forSignal(int number) {
    return 128 + number;
  }

  /**
   * The exit code for a job that ended in this state.
   *
   * @param state the job's final state
   * @return the exit code
   */
  public static int forState(JobState state) {
    return switch (state) {
      case SUCCEEDED -> OK;
      case CANCELLED, TIMED_OUT -> CANCELLED;
      default -> FAILED;
    };
  }

  /**
   * The exit code for a call the service refused with this status.
   *
   * @param code the call's status code
   * @return the exit code
   */
  public static int forStatus(Status.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, OUT_OF_RANGE, UNAUTHENTICATED, PERMISSION_DENIED -> USAGE;
      case UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED -> UNAVAILABLE;
      default -> FAILED;
    };
  }
}
