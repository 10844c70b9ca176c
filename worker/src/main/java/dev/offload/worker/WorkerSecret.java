package dev.offload.worker;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The secret that makes a worker's socket answer only the supervisor that started it, on top of
 * the socket's private directory. The supervisor makes one per worker and writes it as the first
 * line of the worker's stdin (not on the command line, which any user can read with ps, nor in the
 * environment, which the handlers' own child processes would inherit); it then sends it with
 * every call, and the worker refuses calls without it, comparing in constant time.
 */
public final class WorkerSecret implements ServerInterceptor {

  /** The call header that carries it. */
  public static final Metadata.Key<String> HEADER = Metadata.Key.of("offload-worker-secret", Metadata.ASCII_STRING_MARSHALLER);

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_LINE = 256;

  private final byte[] expected;

  private WorkerSecret(String secret) {
    this.expected = secret.getBytes(StandardCharsets.US_ASCII);
  }

  /** A new secret: 32 random bytes in hex. */
  public static String generate() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** Writes the secret to a new worker's stdin, leaving the stream open (its end tells the worker to exit). */
  public static void send(String secret, OutputStream workerStdin) throws IOException {
    workerStdin.write((secret + "\n").getBytes(StandardCharsets.US_ASCII));
    workerStdin.flush();
  }

  /**
   * Reads the secret from stdin: the first line, byte by byte so that nothing after it is taken
   * from the stream that is later watched for its end.
   *
   * @throws IOException if stdin ends or the line is empty or too long
   */
  static WorkerSecret read(InputStream stdin) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = stdin.read(); b != '\n'; b = stdin.read()) {
      if (b < 0 || line.length() >= MAX_LINE) {
        throw new IOException("expected the worker secret as the first line of stdin");
      }
      line.append((char) b);
    }
    if (line.isEmpty()) {
      throw new IOException("the worker secret on stdin is empty");
    }
    return new WorkerSecret(line.toString());
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String presented = headers.get(HEADER);
    if (presented == null || !MessageDigest.isEqual(expected, presented.getBytes(StandardCharsets.US_ASCII))) {
      call.close(Status.UNAUTHENTICATED.withDescription("this worker serves only the supervisor that started it"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
