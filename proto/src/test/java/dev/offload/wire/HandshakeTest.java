package dev.offload.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class HandshakeTest {

  private static final String NONCE = "3f9c2a7e-nonce";

  @Test
  void readyLine_nonceAndPid_isOneLineWithBoth() {
    assertEquals("OFFLOAD-WORKER-READY 3f9c2a7e-nonce 4242", Handshake.readyLine(NONCE, 4242));
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 4242, Integer.MAX_VALUE + 1L, Long.MAX_VALUE})
  void parseReady_lineFromReadyLineWithSameNonce_returnsPid(long pid) {
    assertEquals(Optional.of(pid), Handshake.parseReady(Handshake.readyLine(NONCE, pid), NONCE));
  }

  @Test
  void parseReady_ownProcessPid_roundTrips() {
    long pid = ProcessHandle.current().pid();

    assertEquals(Optional.of(pid), Handshake.parseReady(Handshake.readyLine(NONCE, pid), NONCE));
  }

  @Test
  void parseReady_lineEndingInCarriageReturn_returnsPid() {
    assertEquals(
        Optional.of(7L), Handshake.parseReady(Handshake.readyLine(NONCE, 7) + "\r", NONCE));
  }

  @ParameterizedTest
  @ValueSource(strings = {"other-nonce", "3f9c2a7e-nonc", "3f9c2a7e-nonce-2", "3F9C2A7E-NONCE", ""})
  void parseReady_readyLineWithOtherNonce_returnsEmpty(String otherNonce) {
    assertEquals(Optional.empty(), Handshake.parseReady(Handshake.readyLine(otherNonce, 4242), NONCE));
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "hello from a handler",
        "OFFLOAD-WORKER-READY",
        "OFFLOAD-WORKER-READY 4242",
        "OFFLOAD-WORKER-READY  4242",
        "OFFLOAD-WORKER-READY 3f9c2a7e-nonce",
        "OFFLOAD-WORKER-READY 3f9c2a7e-nonce ",
        "OFFLOAD-WORKER-READY 3f9c2a7e-nonce pid",
        "OFFLOAD-WORKER-READY 3f9c2a7e-nonce 42 43",
        "OFFLOAD-WORKER-READY 3f9c2a7e-nonce 99999999999999999999",
        " OFFLOAD-WORKER-READY 3f9c2a7e-nonce 42",
        "offload-worker-ready 3f9c2a7e-nonce 42",
      })
  void parseReady_anythingButTheReadyLine_returnsEmpty(String line) {
    assertEquals(Optional.empty(), Handshake.parseReady(line, NONCE));
  }

  @Test
  void parseReady_lookAlikePrintedWithoutNonce_returnsEmpty() {
    // What a handler that imitates the handshake could print: it cannot know the nonce.
    String lookAlike = "OFFLOAD-WORKER-READY " + 4242;

    assertEquals(Optional.empty(), Handshake.parseReady(lookAlike, NONCE));
  }
}
