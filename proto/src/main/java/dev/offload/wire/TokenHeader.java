package dev.offload.wire;

import io.grpc.Metadata;

/** How a client shows a service's token: the header {@code authorization: Bearer TOKEN} on every call. */
public final class TokenHeader {

  /** The header that carries the token. */
  public static final Metadata.Key<String> KEY = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static final String SCHEME = "Bearer ";

  private TokenHeader() {}

  /**
   * The header's value for a token.
   *
   * @param token the service's token
   * @return {@code Bearer TOKEN}
   */
  public static String value(String token) {
    return SCHEME + token;
  }
}
