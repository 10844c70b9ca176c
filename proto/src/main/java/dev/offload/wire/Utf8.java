package dev.offload.wire;

/**
 * UTF-8 sizes of text, counted without encoding it. Every size limit and account of offload
 * (inputs, outputs, the memory finished jobs hold) counts UTF-8 bytes, the size of the text on
 * the wire, by this one rule.
 */
public final class Utf8 {

  private Utf8() {}

  /**
   * The number of bytes {@code text} takes in UTF-8. A surrogate that is not half of a pair
   * counts 3 bytes, as the character it stands for would.
   *
   * @param text any text
   * @return its length in UTF-8 bytes
   */
  public static long length(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
