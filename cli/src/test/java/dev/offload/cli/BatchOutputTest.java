package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offload.sdk.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BatchOutputTest {

  private final StringWriter text = new StringWriter();
  private final AtomicInteger slotsGivenBack = new AtomicInteger();
  private final BatchOutput ordered = new BatchOutput(new PrintWriter(text), true, slotsGivenBack::incrementAndGet);

  private long[] writtenLines() {
    return text.toString().lines().mapToLong(l -> Json.parse(l).get("line").asLong()).toArray();
  }

  @Test
  void close_ofABatchThatStoppedEarly_writesWhatOrderHeldBack_inInputOrder() {
    ordered.notRun(3, "c", BatchOutput.INVALID, "INVALID_ARGUMENT", "line 3: bad");
    ordered.skip(2);
    ordered.notRun(5, "e", BatchOutput.INVALID, "INVALID_ARGUMENT", "line 5: bad");
    assertEquals(0, writtenLines().length, "held back: line 1 has no result yet");

    ordered.close();

    assertEquals(3, writtenLines()[0]);
    assertEquals(5, writtenLines()[1]);
    assertEquals(2, writtenLines().length);
    assertEquals(3, slotsGivenBack.get(), "every line's slot is given back, the skipped one's too");
  }

  @Test
  void resultsAfterClose_areNotWritten() {
    ordered.notRun(1, "a", BatchOutput.INVALID, "INVALID_ARGUMENT", "line 1: bad");
    ordered.close();

    ordered.notRun(2, "b", BatchOutput.INVALID, "INVALID_ARGUMENT", "line 2: bad");

    assertEquals(1, writtenLines().length);
    assertEquals(1, ordered.unsuccessful(), "what the summary counts is what is written");
  }
}
