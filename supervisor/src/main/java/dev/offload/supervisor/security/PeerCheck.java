package dev.offload.supervisor.security;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a Unix socket, lets in only calls from processes of the socket's owner (the uid the kernel
 * reports for the connection, {@code SO_PEERCRED}), unless the service has a token: then anyone
 * who reaches the socket may call, and the token decides. The socket's file permissions already
 * keep others out; this holds even where they do not (root, a socket made group-writable, a
 * descriptor passed on).
 */
public final class PeerCheck implements ServerInterceptor {

  private static final Logger LOG = LoggerFactory.getLogger(PeerCheck.class);

  private final int ownerUid;
  private final boolean tokenRequired;
  private final UnixPeers peers;

  /**
   * @param ownerUid the uid allowed without a token: the socket's owner
   * @param tokenRequired whether the service has a token (checked by {@link TokenCheck})
   * @param peers where the server records each connection's peer
   */
  public PeerCheck(int ownerUid, boolean tokenRequired, UnixPeers peers) {
    this.ownerUid = ownerUid;
    this.tokenRequired = tokenRequired;
    this.peers = peers;
  }

  /**
   * Why a call from {@code peer} (null: not known) must be refused, or null if it may go on.
   * Pure, for the tests.
   */
  static String refusal(int ownerUid, UnixPeers.Peer peer, boolean tokenRequired) {
    if (tokenRequired) {
      return null;
    }
    if (peer == null || !peer.known()) {
      return "the service could not tell which user connected to its socket, and it serves only its owner (uid "
          + ownerUid + ") without a token; start the service with --token-file to let others in with that token";
    }
    if (peer.uid() == ownerUid) {
      return null;
    }
    return "this service serves only its owner (uid " + ownerUid + ") on its Unix socket, and this call comes from uid "
        + peer.uid() + "; run the command as uid " + ownerUid + ", or have the service started with --token-file and pass"
        + " its token with --token-file (or OFFLOAD_TOKEN_FILE)";
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    UnixPeers.Connection connection = peers.connectionAt(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    UnixPeers.Peer peer = connection == null ? null : connection.peer();
    String why = refusal(ownerUid, peer, tokenRequired);
    if (why == null) {
      return next.startCall(call, headers);
    }
    if (connection == null || connection.firstRefusal()) {
      LOG.warn("refused calls from " + (peer == null ? "an unknown peer" : "uid " + peer.uid() + " (pid " + peer.pid() + ")")
          + " on the service's socket: only its owner, uid " + ownerUid + ", may call a service without a token");
    }
    call.close(Status.PERMISSION_DENIED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
