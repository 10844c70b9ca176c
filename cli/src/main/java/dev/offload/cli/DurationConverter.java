package dev.offload.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Durations as offload writes them: {@code 500ms}, {@code 2s}, {@code 1m}, {@code 1h}, from 0 to
 * {@link #LONGEST}.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

  /**
   * The longest duration taken: whole hours just under 2^63-1 nanoseconds (about 292 years), so
   * that any duration taken converts to nanoseconds or milliseconds without overflowing a long.
   */
  static final Duration LONGEST = Duration.ofHours(2_562_047);

  private static final Pattern FORM = Pattern.compile("(\\d+)(ms|s|m|h)");

  /**
   * Parses a duration.
   *
   * @throws CommandLine.TypeConversionException if the text is not a duration or is longer than
   *     {@link #LONGEST}, with a message that shows the form and the range
   */
  @Override
  public Duration convert(String text) {
    Matcher m = FORM.matcher(text.trim());
    if (!m.matches()) {
      throw new CommandLine.TypeConversionException(
          "'" + text + "' is not a duration; write a whole number with ms, s, m or h, for example 500ms, 2s or 1m");
    }
    Duration duration;
    try {
      long n = Long.parseLong(m.group(1));
      duration = switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
    } catch (NumberFormatException | ArithmeticException beyondALong) {
      duration = null;
    }
    if (duration == null || duration.compareTo(LONGEST) > 0) {
      throw new CommandLine.TypeConversionException(
          "'" + text + "' is too long: a duration is from 0ms to " + format(LONGEST.toMillis()) + " (about 292 years)");
    }
    return duration;
  }

  /** Writes milliseconds in the same form, in the largest unit that is exact. */
  static String format(long millis) {
    if (millis % 3_600_000 == 0 && millis > 0) {
      return millis / 3_600_000 + "h";
    }
    if (millis % 60_000 == 0 && millis > 0) {
      return millis / 60_000 + "m";
    }
    if (millis % 1000 == 0 && millis > 0) {
      return millis / 1000 + "s";
    }
    return millis + "ms";
  }
}
