package dev.offload.supervisor.security;

import dev.offload.wire.TokenHeader;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Lets in only calls that carry the service's token as {@code authorization: Bearer TOKEN},
 * compared in constant time, so that the time a refusal takes says nothing about the token.
 *
 * <p>One call needs no token: {@code grpc.health.v1.Health/Check}, so that a probe that cannot
 * send one (a Kubernetes {@code grpc} probe, a load balancer's health check) can ask whether the
 * service is up. Its answer is one of SERVING, NOT_SERVING or SERVICE_UNKNOWN for a service name
 * the caller already knows, which says nothing about jobs, handlers or the token. Every other
 * health method ({@code Watch}, a stream that would hold memory, and {@code List}) and every other
 * service still need the token.
 */
public final class TokenCheck implements ServerInterceptor {

  /** The one method a caller without the token may call. */
  static final String OPEN_METHOD = HealthGrpc.getCheckMethod().getFullMethodName();

  private final byte[] expected;

  public TokenCheck(String token) {
    this.expected = TokenHeader.value(token).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (call.getMethodDescriptor().getFullMethodName().equals(OPEN_METHOD)) {
      return next.startCall(call, headers);
    }
    String presented = headers.get(TokenHeader.KEY);
    if (presented == null || !MessageDigest.isEqual(expected, presented.getBytes(StandardCharsets.UTF_8))) {
      String why = presented == null ? "this service needs a token" : "the token does not match this service's";
      call.close(Status.UNAUTHENTICATED.withDescription(why + "; pass the service's token file with --token-file"
          + " (or set OFFLOAD_TOKEN_FILE)"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
