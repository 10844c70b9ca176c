package dev.offload.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Memory sizes as the JVM writes them: {@code 512m}, {@code 2g}, {@code 65536k}, bytes. */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {

  static final Pattern FORM = Pattern.compile("(\\d+)([kKmMgG]?)");

  @Override
  public Long convert(String text) {
    Matcher m = FORM.matcher(text.trim());
    if (!m.matches()) {
      throw new CommandLine.TypeConversionException("'" + text + "' is not a size; write a whole number with k, m or g, for example 512m or 2g");
    }
    try {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "k" -> Math.multiplyExact(n, 1L << 10);
        case "m" -> Math.multiplyExact(n, 1L << 20);
        case "g" -> Math.multiplyExact(n, 1L << 30);
        default -> n;
      };
    } catch (ArithmeticException | NumberFormatException e) {
      throw new CommandLine.TypeConversionException("'" + text + "' is too large a size: it does not fit in 64 bits of bytes");
    }
  }
}
