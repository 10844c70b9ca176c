package dev.offload.cli;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The lines of a batch file, split as bytes and each decoded as strict UTF-8 on its own: a line
 * that is not UTF-8 (Latin-1, say, or binary) is one bad line, reported with its number, and the
 * lines after it read on. (A decoding {@link java.io.Reader} would instead fail the whole stream
 * at the first bad byte.) Lines end at {@code \n}, {@code \r\n} or {@code \r}, as {@link
 * java.io.BufferedReader#readLine} has them. Not thread-safe.
 */
final class BatchInput implements Closeable {

  /**
   * One line of the input.
   *
   * @param number the 1-based line number
   * @param text the line without its end, or null when it is not UTF-8
   * @param notUtf8 why the line cannot be read (naming its number), or null
   */
  record Line(long number, String text, String notUtf8) {}

  /** Line buffers up to this size are kept for the next line; a larger one is let go after use. */
  private static final int KEPT_LINE_BYTES = 1 << 20;

  private final InputStream in;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT)
      .onUnmappableCharacter(CodingErrorAction.REPORT);
  private final byte[] buffer = new byte[64 << 10];
  private int position;
  private int limit;
  private byte[] line = new byte[8 << 10];
  private int length;
  private CharBuffer chars = CharBuffer.allocate(8 << 10);
  /** The last line ended with {@code \r}: a {@code \n} right after it belongs to that end. */
  private boolean skipNewline;
  private long number;

  /** Whether items end at a NUL byte (as {@code find -print0} writes them) instead of at line ends. */
  private final boolean nulSeparated;

  /** The lines of {@code in}. */
  BatchInput(InputStream in) {
    this(in, false);
  }

  /**
   * The items of {@code in}: lines, or with {@code nulSeparated} items that end at a NUL byte
   * (and may hold line ends), numbered as lines are.
   */
  BatchInput(InputStream in, boolean nulSeparated) {
    this.in = in;
    this.nulSeparated = nulSeparated;
  }

  /** The next line, or null at the end of the input. */
  Line next() throws IOException {
    if (skipNewline) {
      skipNewline = false;
      if (position == limit && !fill()) {
        return null;
      }
      if (buffer[position] == '\n') {
        position++;
      }
    }
    length = 0;
    boolean any = false;
    while (true) {
      if (position == limit && !fill()) {
        if (!any) {
          return null;
        }
        break;
      }
      any = true;
      int start = position;
      while (position < limit && !ends(buffer[position])) {
        position++;
      }
      append(start, position - start);
      if (position < limit) {
        skipNewline = !nulSeparated && buffer[position] == '\r';
        position++;
        break;
      }
    }
    number++;
    Line decoded = decode();
    if (line.length > KEPT_LINE_BYTES) {
      line = new byte[8 << 10];
      chars = CharBuffer.allocate(8 << 10);
    }
    return decoded;
  }

  private boolean ends(byte b) {
    return nulSeparated ? b == 0 : b == '\n' || b == '\r';
  }

  private Line decode() {
    ByteBuffer bytes = ByteBuffer.wrap(line, 0, length);
    if (chars.capacity() < length) {
      chars = CharBuffer.allocate(length); // UTF-8 never makes more chars than bytes
    }
    chars.clear();
    decoder.reset();
    CoderResult result = decoder.decode(bytes, chars, true);
    if (result.isError()) {
      int at = bytes.position();
      return new Line(number, null, String.format(
          "line %d is not UTF-8: its byte %d (0x%02x) does not belong to a UTF-8 character; save the file as UTF-8,"
              + " for example with iconv -f latin1 -t utf-8", number, at + 1, line[at] & 0xff));
    }
    decoder.flush(chars);
    return new Line(number, chars.flip().toString(), null);
  }

  private void append(int start, int count) {
    if (length + count > line.length) {
      line = Arrays.copyOf(line, Math.max(line.length * 2, length + count));
    }
    System.arraycopy(buffer, start, line, length, count);
    length += count;
  }

  private boolean fill() throws IOException {
    int read = in.read(buffer);
    if (read <= 0) {
      return false;
    }
    position = 0;
    limit = read;
    return true;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
