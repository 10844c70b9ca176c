package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchInputTest {

  private static List<BatchInput.Line> lines(InputStream in) throws IOException {
    List<BatchInput.Line> lines = new ArrayList<>();
    try (BatchInput input = new BatchInput(in)) {
      for (BatchInput.Line line = input.next(); line != null; line = input.next()) {
        lines.add(line);
      }
    }
    return lines;
  }

  private static List<BatchInput.Line> lines(byte[] bytes) throws IOException {
    return lines(new ByteArrayInputStream(bytes));
  }

  private static List<String> texts(String text) throws IOException {
    return lines(text.getBytes(StandardCharsets.UTF_8)).stream().map(BatchInput.Line::text).toList();
  }

  @Test
  void nulSeparated_itemsEndAtNul_only_andMayHoldLineEnds() throws IOException {
    byte[] bytes = "two\nlines\0cr\r\n\0\0last".getBytes(StandardCharsets.UTF_8);
    List<String> items = new ArrayList<>();
    try (BatchInput input = new BatchInput(new ByteArrayInputStream(bytes), true)) {
      for (BatchInput.Line item = input.next(); item != null; item = input.next()) {
        assertEquals(items.size() + 1, item.number());
        items.add(item.text());
      }
    }
    assertEquals(List.of("two\nlines", "cr\r\n", "", "last"), items);
  }

  @Test
  void lineEnds_areThoseOfReadLine() throws IOException {
    assertEquals(List.of("a", "b", "c", "", "d"), texts("a\nb\r\nc\r\rd"));
    assertEquals(List.of("a", ""), texts("a\n\n"));
    assertEquals(List.of("no end"), texts("no end"));
    assertEquals(List.of(), texts(""));
  }

  @Test
  void aLineThatIsNotUtf8_isReportedWithItsNumber_andTheNextLinesRead() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes("{\"a\": 1}\n".getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes(new byte[] {(byte) 0xff, (byte) 0xfe, '\n'});
    bytes.writeBytes("caf".getBytes(StandardCharsets.ISO_8859_1));
    bytes.writeBytes(new byte[] {(byte) 0xe9, '\n'}); // Latin-1 é
    bytes.writeBytes("\"café ✓ 𝄞\"\n".getBytes(StandardCharsets.UTF_8));

    List<BatchInput.Line> lines = lines(bytes.toByteArray());

    assertEquals(4, lines.size());
    assertEquals("{\"a\": 1}", lines.get(0).text());
    assertNull(lines.get(1).text());
    assertTrue(lines.get(1).notUtf8().startsWith("line 2 is not UTF-8: its byte 1 (0xff)"), lines.get(1).notUtf8());
    assertNull(lines.get(2).text());
    assertTrue(lines.get(2).notUtf8().startsWith("line 3 is not UTF-8: its byte 4 (0xe9)"), lines.get(2).notUtf8());
    assertEquals("\"café ✓ 𝄞\"", lines.get(3).text());
    assertEquals(4, lines.get(3).number());
  }

  @Test
  void charactersAndLineEndsSplitAcrossReads_arePutTogether() throws IOException {
    String line = "é✓𝄞".repeat(50_000); // longer than the read buffer, multi-byte characters across its edges
    byte[] bytes = (line + "\r\n" + line + "\r\n").getBytes(StandardCharsets.UTF_8);
    // One byte a read: every character and every \r\n is cut between reads.
    InputStream trickle = new ByteArrayInputStream(bytes) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        return super.read(b, off, Math.min(len, 1));
      }
    };

    assertEquals(List.of(line, line), lines(trickle).stream().map(BatchInput.Line::text).toList());
    assertEquals(List.of(line, line), lines(bytes).stream().map(BatchInput.Line::text).toList());
  }
}
