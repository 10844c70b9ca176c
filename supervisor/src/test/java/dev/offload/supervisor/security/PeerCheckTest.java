package dev.offload.supervisor.security;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Who may call a service on its Unix socket: its owner; others only when the service has a token. */
class PeerCheckTest {

  private static final int OWNER = 1000;

  @Test
  void refusal_sameUid_allowed() {
    assertNull(PeerCheck.refusal(OWNER, new UnixPeers.Peer(OWNER, 42), false));
  }

  @Test
  void refusal_otherUid_refusedNamingBothUidsAndTheTokenFlag() {
    String why = PeerCheck.refusal(OWNER, new UnixPeers.Peer(1001, 42), false);

    assertNotNull(why);
    assertTrue(why.contains("uid 1000") && why.contains("uid 1001") && why.contains("--token-file"), why);
  }

  @Test
  void refusal_rootIsAnotherUserToo() {
    assertNotNull(PeerCheck.refusal(OWNER, new UnixPeers.Peer(0, 42), false));
  }

  @Test
  void refusal_unknownPeer_refused() {
    assertNotNull(PeerCheck.refusal(OWNER, null, false));
    assertNotNull(PeerCheck.refusal(OWNER, UnixPeers.Peer.UNKNOWN, false));
  }

  @Test
  void refusal_tokenConfigured_anyPeerGoesOnToTheTokenCheck() {
    assertNull(PeerCheck.refusal(OWNER, new UnixPeers.Peer(1001, 42), true));
    assertNull(PeerCheck.refusal(OWNER, null, true));
  }
}
