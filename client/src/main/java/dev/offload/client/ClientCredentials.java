package dev.offload.client;

import java.nio.file.Path;

/**
 * What a client shows a service: a token and the CA that signed the service's TLS certificate.
 * The token is a secret: this record's {@code toString} does not show it.
 *
 * @param token the service's token (from its {@code --token-file}); null for none
 * @param tlsCa the PEM file of the CA that signed the service's certificate; null for plaintext
 */
public record ClientCredentials(String token, Path tlsCa) {

  /**
   * No token, plaintext: what a service on a Unix socket or on loopback wants.
   *
   * @return credentials with neither
   */
  public static ClientCredentials none() {
    return new ClientCredentials(null, null);
  }

  @Override
  public String toString() {
    return "ClientCredentials[token=" + (token == null ? "none" : "(set)") + ", tlsCa=" + tlsCa + "]";
  }
}
