package dev.offload.supervisor;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.server.SupervisorConfig;

/**
 * An application that embeds a pool of one worker, for {@link WorkerDistributionIT}: it runs one
 * job, prints the pid of the worker that ran it on stdout as {@code worker-pid N}, keeps the pool
 * (and its worker) until its stdin ends, then closes it and exits, 0 if the job succeeded.
 */
final class EmbeddingApp {

  private EmbeddingApp() {}

  public static void main(String[] args) throws Exception {
    try (ProcessPool pool = ProcessPool.start(SupervisorConfig.defaults().withPool(PoolConfig.defaults().toBuilder().workers(1).build()))) {
      Job job = pool.client().wire().run(SubmitJobRequest.newBuilder().setHandler("is_prime").setInputJson("7").build(), e -> {});
      System.out.println("worker-pid " + job.getWorkerPid());
      System.out.flush();
      if (job.getState() != JobState.SUCCEEDED) {
        System.err.println("the job ended " + job.getState() + ": " + job.getError().getMessage());
        System.exit(1);
      }
      System.in.transferTo(java.io.OutputStream.nullOutputStream());
    }
  }
}
