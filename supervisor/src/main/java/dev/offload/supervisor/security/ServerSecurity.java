package dev.offload.supervisor.security;

import java.nio.file.Path;

/**
 * How a service lets clients in: by a token (null: any client that can reach the socket), over TLS
 * (null cert and key: plaintext).
 *
 * @param token what every call must carry, or null
 * @param tlsCert the PEM certificate chain the service presents, or null
 * @param tlsKey the PEM private key of that certificate, or null
 */
public record ServerSecurity(String token, Path tlsCert, Path tlsKey) {

  public ServerSecurity {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("TLS needs both a certificate and its key");
    }
  }

  /** No token, no TLS: for a Unix socket or loopback, where the operating system decides who connects. */
  public static ServerSecurity none() {
    return new ServerSecurity(null, null, null);
  }

  public boolean tls() {
    return tlsCert != null;
  }
}
