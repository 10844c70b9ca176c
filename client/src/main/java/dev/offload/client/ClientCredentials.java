package dev.offload.client;

import java.nio.file.Path;

/**
 * What a client shows a service: a token (null for none) and the CA that signed the service's TLS
 * certificate (null: plaintext).
 */
public record ClientCredentials(String token, Path tlsCa) {

  public static ClientCredentials none() {
    return new ClientCredentials(null, null);
  }
}
