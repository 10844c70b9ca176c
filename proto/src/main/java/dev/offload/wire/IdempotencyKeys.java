package dev.offload.wire;

/**
 * The bound on a job's idempotency key (SubmitJobRequest.idempotency_key), shared by the service,
 * which refuses a longer key, and the clients, which refuse it before sending.
 */
public final class IdempotencyKeys {

  /**
   * The longest key a service takes, in UTF-8 bytes: a key is an id (a UUID and a line number fit
   * with room to spare), and every job submitted with one holds it as long as the job is kept.
   */
  public static final int MAX_BYTES = 200;

  private IdempotencyKeys() {}

  /**
   * Why a key cannot be used, or null if it can.
   *
   * @param key a non-empty key
   * @return a sentence saying it is too long and what the limit is, or null
   */
  public static String problem(String key) {
    // Measured only when it might be over: a char is at most 3 UTF-8 bytes.
    if ((long) key.length() * 3 <= MAX_BYTES) {
      return null;
    }
    long bytes = Utf8.length(key);
    return bytes <= MAX_BYTES ? null
        : "the idempotency key is " + bytes + " bytes; a service takes at most " + MAX_BYTES + " (a UUID, or a name and a number, is enough)";
  }
}
