package dev.offload.supervisor.server;

/**
 * What a service takes at most from its clients. Each limit, when hit, is answered with a gRPC
 * status whose message names the limit and the {@code serve} flag that raises it; none of them
 * can take the service down. (The output limit is the workers', in {@link
 * dev.offload.supervisor.pool.PoolConfig#maxOutputBytes}; what finished jobs keep is {@link
 * SupervisorConfig#keepFinished} and {@link SupervisorConfig#finishedMemoryBytes}.)
 *
 * @param maxRequestBytes the largest message a client may send (RESOURCE_EXHAUSTED)
 * @param maxInputBytes the largest input JSON of a job, in UTF-8 bytes (INVALID_ARGUMENT)
 * @param maxWatchersPerJob how many streams may follow one job at once (RESOURCE_EXHAUSTED)
 * @param maxStreams how many streaming calls (run, watch, batch) may be open at once, across all
 *     clients (RESOURCE_EXHAUSTED)
 * @param maxRetries the most retries a job may ask for (INVALID_ARGUMENT): each one can cost a
 *     worker process, so a job that kills its worker cannot keep the pool restarting
 * @param maxPendingBytes the most bytes of input ({@link dev.offload.supervisor.job.HeapBytes}) that jobs accepted and not yet ended may
 *     hold at once (RESOURCE_EXHAUSTED; a batch stream waits instead): see {@link
 *     dev.offload.supervisor.job.PendingInputs}
 */
public record Limits(int maxRequestBytes, int maxInputBytes, int maxWatchersPerJob, int maxStreams, int maxRetries,
    long maxPendingBytes) {

  /** Room in a request, beyond its input, for the rest of it (handler, key, options). */
  public static final int REQUEST_OVERHEAD_BYTES = 64 << 10;

  /** The default of {@link #maxRetries} ({@code serve --max-retries}). */
  public static final int DEFAULT_MAX_RETRIES = 10;

  public Limits {
    if (maxInputBytes < 1 || maxWatchersPerJob < 1 || maxStreams < 1) {
      throw new IllegalArgumentException("every limit must be at least 1");
    }
    if (maxPendingBytes < 1) {
      throw new IllegalArgumentException("the pending-input limit must be at least 1 byte, got " + maxPendingBytes);
    }
    if (maxRetries < 0) {
      throw new IllegalArgumentException("the retry limit must be 0 or more, got " + maxRetries);
    }
    if ((long) maxRequestBytes < (long) maxInputBytes + REQUEST_OVERHEAD_BYTES) {
      throw new IllegalArgumentException("the request size limit (" + maxRequestBytes + " bytes) must exceed the input size limit ("
          + maxInputBytes + " bytes) by at least " + REQUEST_OVERHEAD_BYTES + " bytes, or inputs near their limit could never arrive");
    }
  }

  /**
   * 4 MiB inputs in requests of up to 5 MiB, 100 watchers a job, 1,000 open streams, 10 retries,
   * and the inputs of jobs not yet ended up to an eighth of the heap.
   */
  public static Limits defaults() {
    return new Limits(5 << 20, 4 << 20, 100, 1_000, DEFAULT_MAX_RETRIES, defaultMaxPendingBytes());
  }

  /**
   * An eighth of this JVM's maximum heap: what the inputs of jobs not yet ended may hold by default.
   * Less than finished jobs' quarter: an input on its way costs several copies for a while (its
   * request, its parse, its message to the worker, its row in the store), and a 48 MiB service sent
   * a batch of 1 MiB inputs ran out of heap in one run of three with a quarter, in none with this.
   */
  public static long defaultMaxPendingBytes() {
    return Runtime.getRuntime().maxMemory() / 8;
  }

  public Limits withMaxRetries(int n) {
    return new Limits(maxRequestBytes, maxInputBytes, maxWatchersPerJob, maxStreams, n, maxPendingBytes);
  }

  public Limits withMaxPendingBytes(long bytes) {
    return new Limits(maxRequestBytes, maxInputBytes, maxWatchersPerJob, maxStreams, maxRetries, bytes);
  }
}
