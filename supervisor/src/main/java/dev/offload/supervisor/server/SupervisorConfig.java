package dev.offload.supervisor.server;

import dev.offload.supervisor.pool.PoolConfig;
import java.time.Duration;

/**
 * How a supervisor runs.
 *
 * @param pool how its workers are started and looked after
 * @param maxQueue how many jobs may wait for a worker before submissions are refused
 * @param jobTimeout the run-time limit of jobs that set none; zero for none
 * @param keepFinished how many ended jobs are remembered for status queries
 * @param shutdownGrace how long running jobs get to finish at shutdown when no grace is asked for
 * @param limits what the service takes at most from clients
 */
public record SupervisorConfig(
    PoolConfig pool, int maxQueue, Duration jobTimeout, int keepFinished, Duration shutdownGrace, Limits limits) {

  public static SupervisorConfig defaults() {
    return new SupervisorConfig(PoolConfig.defaults(), 10_000, Duration.ZERO, 10_000, Duration.ofSeconds(10), Limits.defaults());
  }

  public SupervisorConfig withPool(PoolConfig p) {
    return new SupervisorConfig(p, maxQueue, jobTimeout, keepFinished, shutdownGrace, limits);
  }

  public SupervisorConfig withMaxQueue(int n) {
    return new SupervisorConfig(pool, n, jobTimeout, keepFinished, shutdownGrace, limits);
  }

  public SupervisorConfig withShutdownGrace(Duration grace) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, grace, limits);
  }

  public SupervisorConfig withJobTimeout(Duration timeout) {
    return new SupervisorConfig(pool, maxQueue, timeout, keepFinished, shutdownGrace, limits);
  }

  public SupervisorConfig withKeepFinished(int n) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, n, shutdownGrace, limits);
  }

  public SupervisorConfig withLimits(Limits l) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, shutdownGrace, l);
  }
}
