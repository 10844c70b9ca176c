package dev.offload.supervisor.server;

/**
 * What a service takes at most from its clients. Each limit, when hit, is answered with a gRPC
 * status whose message names the limit and the {@code serve} flag that raises it; none of them
 * can take the service down. (The output limit is the workers', in {@link
 * dev.offload.supervisor.pool.PoolConfig#maxOutputBytes}; how many finished jobs are kept is
 * {@link SupervisorConfig#keepFinished}.)
 *
 * @param maxRequestBytes the largest message a client may send (RESOURCE_EXHAUSTED)
 * @param maxInputBytes the largest input JSON of a job, in UTF-8 bytes (INVALID_ARGUMENT)
 * @param maxWatchersPerJob how many streams may follow one job at once (RESOURCE_EXHAUSTED)
 * @param maxStreams how many streaming calls (run, watch, batch) may be open at once, across all
 *     clients (RESOURCE_EXHAUSTED)
 */
public record Limits(int maxRequestBytes, int maxInputBytes, int maxWatchersPerJob, int maxStreams) {

  /** Room in a request, beyond its input, for the rest of it (handler, key, options). */
  public static final int REQUEST_OVERHEAD_BYTES = 64 << 10;

  public Limits {
    if (maxInputBytes < 1 || maxWatchersPerJob < 1 || maxStreams < 1) {
      throw new IllegalArgumentException("every limit must be at least 1");
    }
    if ((long) maxRequestBytes < (long) maxInputBytes + REQUEST_OVERHEAD_BYTES) {
      throw new IllegalArgumentException("the request size limit (" + maxRequestBytes + " bytes) must exceed the input size limit ("
          + maxInputBytes + " bytes) by at least " + REQUEST_OVERHEAD_BYTES + " bytes, or inputs near their limit could never arrive");
    }
  }

  /** 4 MiB inputs in requests of up to 5 MiB, 100 watchers a job, 1,000 open streams. */
  public static Limits defaults() {
    return new Limits(5 << 20, 4 << 20, 100, 1_000);
  }
}
