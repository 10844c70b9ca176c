package dev.offload.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551617",
        "123456789012345678901234567890123456789012345678901234567890",
      })
  void parse_integerOfAnySize_writesSameDigitsAndKeepsValue(String text) {
    JsonNode node = Json.parse(text);

    assertTrue(node.isIntegralNumber(), text);
    assertEquals(new BigInteger(text), node.bigIntegerValue());
    assertEquals(text, Json.write(node));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"1.10", "0.1", "-2.500", "9007199254740993.0", "3.14159265358979323846264338327950288"})
  void parse_decimal_keepsExactValueAndScale(String text) {
    JsonNode node = Json.parse(text);

    assertTrue(node.isBigDecimal(), text + " should not pass through a double");
    assertEquals(new BigDecimal(text), node.decimalValue()); // equals() compares the scale too
    assertEquals(text, Json.write(node));
  }

  @Test
  void parse_objectWithExactNumbers_writesItBackUnchanged() {
    String text = "{\"big\":18446744073709551617,\"price\":1.10,\"list\":[0.30,-1,1E+400]}";

    assertEquals(text, Json.write(Json.parse(text)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"1 2", "{} {}", "[1] [2]", "true false", "{\"a\":1} x", "\"a\" \"b\""})
  void parse_textAfterTheValue_throwsIllegalArgumentException(String text) {
    var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text));

    assertTrue(e.getMessage().startsWith("input is not valid JSON"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1", "nul", "'single'", "{a:1}", "01", "1.", "+1", "NaN"})
  void parse_malformed_throwsIllegalArgumentException(String text) {
    var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text));

    assertTrue(e.getMessage().startsWith("input is not valid JSON"), e.getMessage());
  }

  @Test
  void parse_malformedTextNamed_namesItInTheMessage() {
    var e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{", "the output of handler 'x'"));

    assertTrue(e.getMessage().startsWith("the output of handler 'x' is not valid JSON: "), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "\n"})
  void parse_noValueAtAll_throwsIllegalArgumentException(String text) {
    assertThrows(IllegalArgumentException.class, () -> Json.parse(text));
  }

  @Test
  void object_new_isEmptyAndWritesCompactly() {
    var object = Json.object();

    assertEquals("{}", Json.write(object));
    object.put("n", 9999999999999917L).put("prime", true);
    assertEquals("{\"n\":9999999999999917,\"prime\":true}", Json.write(object));
  }

  @Test
  void mapper_parsesFloatsAsBigDecimal() throws Exception {
    Object value = Json.mapper().readValue("0.1", Object.class);

    assertEquals(new BigDecimal("0.1"), value);
  }
}
