package dev.offload.client;

import dev.offload.proto.v1.Job;

/** A job ended FAILED or TIMED_OUT; {@link #job()} has its record, with the error code. */
public final class JobFailedException extends Exception {

  private final transient Job job;

  public JobFailedException(Job job) {
    super("job " + job.getId() + " " + job.getState() + " (" + job.getError().getCode() + "): " + job.getError().getMessage());
    this.job = job;
  }

  public Job job() {
    return job;
  }
}
