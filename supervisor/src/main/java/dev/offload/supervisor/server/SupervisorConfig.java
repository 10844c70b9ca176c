package dev.offload.supervisor.server;

import dev.offload.supervisor.pool.PoolConfig;
import dev.offload.supervisor.store.ClusterMember;
import dev.offload.supervisor.store.Durability;
import dev.offload.supervisor.store.StoreUrl;
import java.time.Duration;

/**
 * How a supervisor runs.
 *
 * @param pool how its workers are started and looked after
 * @param maxQueue how many jobs may wait for a worker before submissions are refused
 * @param jobTimeout the run-time limit of jobs that set none; zero for none
 * @param keepFinished how many ended jobs are remembered for status queries
 * @param finishedMemoryBytes how many bytes of data (input, output, error message, as {@link
 *     dev.offload.supervisor.job.HeapBytes} counts them) the
 *     ended jobs may hold; past it the oldest ones' data are dropped and their records kept
 * @param shutdownGrace how long running jobs get to finish at shutdown when no grace is asked for
 * @param limits what the service takes at most from clients
 * @param store where jobs are recorded ({@code memory:} by default: nowhere)
 * @param durability what a recorded job survives (for a store that records)
 * @param member how the service takes part in a cluster, if its store is shared (its workers are
 *     the pool's); null: named {@code hostname:pid}, with the default lease and no password
 */
public record SupervisorConfig(PoolConfig pool, int maxQueue, Duration jobTimeout, int keepFinished, long finishedMemoryBytes,
    Duration shutdownGrace, Limits limits, StoreUrl store, Durability durability, ClusterMember member) {

  /**
   * Checks the settings.
   *
   * @throws IllegalArgumentException if one is out of range; the message names it
   */
  public SupervisorConfig {
    if (finishedMemoryBytes < 0) {
      throw new IllegalArgumentException("finishedMemoryBytes must be 0 or more, got " + finishedMemoryBytes);
    }
  }

  /** A quarter of this JVM's maximum heap: what finished jobs may hold by default. */
  public static long defaultFinishedMemoryBytes() {
    return Runtime.getRuntime().maxMemory() / 4;
  }

  /** The defaults: {@link PoolConfig#defaults()}, 10,000 queued and 10,000 finished jobs, 10 s shutdown grace. */
  public static SupervisorConfig defaults() {
    return new SupervisorConfig(PoolConfig.defaults(), 10_000, Duration.ZERO, 10_000, defaultFinishedMemoryBytes(),
        Duration.ofSeconds(10), Limits.defaults(), new StoreUrl.Memory(), Durability.PROCESS,
        null);
  }

  /** This config with another pool config. */
  public SupervisorConfig withPool(PoolConfig p) {
    return new SupervisorConfig(p, maxQueue, jobTimeout, keepFinished, finishedMemoryBytes, shutdownGrace, limits, store, durability, member);
  }

  /** This config with another queue limit. */
  public SupervisorConfig withMaxQueue(int n) {
    return new SupervisorConfig(pool, n, jobTimeout, keepFinished, finishedMemoryBytes, shutdownGrace, limits, store, durability, member);
  }

  /** This config with another default shutdown grace. */
  public SupervisorConfig withShutdownGrace(Duration grace) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, finishedMemoryBytes, grace, limits, store, durability, member);
  }

  /** This config with another default job timeout; zero for none. */
  public SupervisorConfig withJobTimeout(Duration timeout) {
    return new SupervisorConfig(pool, maxQueue, timeout, keepFinished, finishedMemoryBytes, shutdownGrace, limits, store, durability, member);
  }

  /** This config remembering another number of ended jobs. */
  public SupervisorConfig withKeepFinished(int n) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, n, finishedMemoryBytes, shutdownGrace, limits, store, durability, member);
  }

  /** This config with another limit on the data ended jobs hold. */
  public SupervisorConfig withFinishedMemoryBytes(long bytes) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, bytes, shutdownGrace, limits, store, durability, member);
  }

  /** Records jobs in this store, with this durability. */
  public SupervisorConfig withStore(StoreUrl url, Durability d) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, finishedMemoryBytes, shutdownGrace, limits, url, d, member);
  }

  /** This config with other limits on what clients send. */
  public SupervisorConfig withLimits(Limits l) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, finishedMemoryBytes, shutdownGrace, l, store, durability, member);
  }

  /** Takes part in a cluster as this member (for a shared store). */
  public SupervisorConfig withMember(ClusterMember m) {
    return new SupervisorConfig(pool, maxQueue, jobTimeout, keepFinished, finishedMemoryBytes, shutdownGrace, limits, store, durability, m);
  }

  /** A service's name in a cluster when none is given: {@code hostname:pid}. */
  public static String defaultServiceName() {
    return hostName() + ":" + ProcessHandle.current().pid();
  }

  /** This machine's name, or {@code localhost} if it has none that resolves. */
  public static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "localhost";
    }
  }
}
