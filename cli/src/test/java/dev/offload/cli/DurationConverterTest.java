package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class DurationConverterTest {

  private final DurationConverter converter = new DurationConverter();

  @Test
  void theUnits_convert() {
    assertEquals(Duration.ofMillis(500), converter.convert("500ms"));
    assertEquals(Duration.ofSeconds(2), converter.convert("2s"));
    assertEquals(Duration.ofMinutes(1), converter.convert("1m"));
    assertEquals(Duration.ofHours(2_562_047), converter.convert("2562047h"));
  }

  @Test
  void aDurationBeyondTheRange_isRefusedNamingTheRange_whateverItsUnitAndLength() {
    for (String text : new String[] {"2562048h", "99999999999999h", "9999999999999999999999h", "9223372036855s", "99999999999999999999ms"}) {
      TypeConversionException e = assertThrows(TypeConversionException.class, () -> converter.convert(text), text);
      assertEquals("'" + text + "' is too long: a duration is from 0ms to 2562047h (about 292 years)", e.getMessage());
    }
  }

  @Test
  void everyDurationTaken_convertsToNanosWithoutOverflow() {
    assertEquals(2_562_047L * 3_600_000_000_000L, converter.convert("2562047h").toNanos());
  }
}
