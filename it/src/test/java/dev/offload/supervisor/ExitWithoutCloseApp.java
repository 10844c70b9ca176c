package dev.offload.supervisor;

import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.server.SupervisorConfig;

/**
 * An application that starts a pool, runs one job and returns from main without closing the pool,
 * for {@link EmbeddingHygieneIT} and {@link WorkerDistributionIT}. It prints the pid of the worker
 * that ran the job on stdout as {@code worker-pid N}, and exits 0 if the job succeeded.
 */
final class ExitWithoutCloseApp {

  private ExitWithoutCloseApp() {}

  public static void main(String[] args) throws Exception {
    ProcessPool pool = ProcessPool.start(SupervisorConfig.defaults().withPool(PoolConfig.defaults().toBuilder().workers(1).build()));
    Job job = pool.client().wire().run(SubmitJobRequest.newBuilder().setHandler("is_prime").setInputJson("7").build(), e -> {});
    System.out.println("worker-pid " + job.getWorkerPid());
    if (job.getState() != JobState.SUCCEEDED) {
      System.err.println("the job ended " + job.getState() + ": " + job.getError().getMessage());
      System.exit(1);
    }
    // No close(): the pool's shutdown hook must leave nothing behind.
  }
}
