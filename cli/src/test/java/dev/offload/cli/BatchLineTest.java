package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class BatchLineTest {

  @Test
  void aTimeoutBeyondTheRange_isInvalidNamingTheFieldAndTheRange() {
    BatchLine line = BatchLine.parse(5, "{\"id\": \"e\", \"handler\": \"echo\", \"input\": 1, \"timeout\": \"99999999999999h\"}");

    assertNull(line.request());
    assertEquals("e", line.id());
    assertEquals("line 5: \"timeout\": '99999999999999h' is too long: a duration is from 0ms to 2562047h (about 292 years)",
        line.invalid());
  }

  @Test
  void theLongestTimeout_isTaken() {
    BatchLine line = BatchLine.parse(1, "{\"handler\": \"echo\", \"timeout\": \"2562047h\"}");

    assertNull(line.invalid());
    assertEquals(2_562_047L * 3_600_000, line.request().getTimeoutMs());
  }
}
