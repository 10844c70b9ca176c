package dev.offload.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8Test {

  @Test
  void length_countsBytesNotCharacters() {
    assertEquals(0, Utf8.length(""));
    assertEquals(3, Utf8.length("abc"));
    assertEquals(2, Utf8.length("é"));
    assertEquals(3, Utf8.length("€"));
    assertEquals(4, Utf8.length("\uD83D\uDE00"));
    assertEquals("a€\uD83D\uDE00".getBytes(StandardCharsets.UTF_8).length, Utf8.length("a€\uD83D\uDE00"));
  }

  @Test
  void length_ofALoneSurrogate_isThreeBytes() {
    assertEquals(3, Utf8.length("\uD83D"));
    assertEquals(4, Utf8.length("\uDE00a"));
  }
}
