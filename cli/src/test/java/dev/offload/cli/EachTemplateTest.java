package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class EachTemplateTest {

  private static final EachTemplate ALL = EachTemplate.parse(
      "{\"all\": \"{}\", \"dot\": \"{.}\", \"base\": \"{/}\", \"dir\": \"{//}\", \"basedot\": \"{/.}\", \"seq\": \"{#}\"}");

  private static JsonNode render(String argument) {
    return Json.parse(ALL.render(argument, 7));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {
      "/data/my photos/cat 1.png", // spaces
      "/data/say \"cheese\".png", // quotes
      "/data/two\nlines.png", // a newline, as -0 reads it
      "/data/ünïcødé/日本語 😀.png", // unicode, a surrogate pair too
      "/data/back\\slash\t{tab}.png", // a backslash, a tab, braces that are no replacement string
      "/data/{}.png" // a replacement string in the argument is not replaced again
  })
  void render_insertsTheArgumentJsonEscaped_andTheInputParsesBackToIt(String path) {
    JsonNode input = render(path);
    assertEquals(path, input.get("all").asText());
    int slash = path.lastIndexOf('/');
    assertEquals(path.substring(slash + 1), input.get("base").asText());
    assertEquals(path.substring(0, slash), input.get("dir").asText());
    assertEquals(path.substring(slash + 1, path.length() - ".png".length()), input.get("basedot").asText());
    assertEquals(path.substring(0, path.length() - ".png".length()), input.get("dot").asText());
    assertEquals("7", input.get("seq").asText());
  }

  /** The values GNU parallel 20221122 gives for these arguments (run by hand: see the commit). */
  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
      "a/b.c.d | a/b.c | b.c.d | a     | b.c",
      "file.   | file  | file.  | .     | file",
      ".bashrc | ''    | .bashrc| .     | ''",
      "/x      | /x    | x      | /     | x",
      "x       | x     | x      | .     | x",
      "a/b/    | a/b/  | ''     | a     | ''",
      "/       | /     | ''     | /     | ''",
      "dir.d/f | dir.d/f | f    | dir.d | f",
      "a//b    | a//b  | b      | a     | b"
  })
  void replacementStrings_areGnuParallels(String argument, String dot, String base, String dir, String baseDot) {
    assertEquals(dot, EachTemplate.value("{.}", argument, 1));
    assertEquals(base, EachTemplate.value("{/}", argument, 1));
    assertEquals(dir, EachTemplate.value("{//}", argument, 1));
    assertEquals(baseDot, EachTemplate.value("{/.}", argument, 1));
  }

  @Test
  void replacementStrings_standInFieldNamesToo_andTextAroundThemStays() {
    EachTemplate template = EachTemplate.parse("{\"{/.}\": [\"out/{/.}.jpg\", 256, true, null], \"n\": \"job {#} of x\"}");
    assertEquals("{\"cat\": [\"out/cat.jpg\", 256, true, null], \"n\": \"job 12 of x\"}", template.render("/a/cat.png", 12));
  }

  @Test
  void escapesInTheTemplate_areKept_andAQuoteEscapedBeforeAReplacementStringIsNoEnd() {
    EachTemplate template = EachTemplate.parse("{\"a\": \"say \\\"{}\\\" \\u00e9\", \"b\": \"\\\\{}\"}");
    JsonNode input = Json.parse(template.render("x y", 1));
    assertEquals("say \"x y\" é", input.get("a").asText());
    assertEquals("\\x y", input.get("b").asText());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"7|7", "-3|-3", "0.5|0.5", "1e3|1e3", "-2.5E-7|-2.5E-7", "12345678901234567890123|12345678901234567890123"})
  void noTemplate_aJsonNumber_isSentAsOne(String argument, String input) {
    assertEquals(input, EachTemplate.none().render(argument, 1));
  }

  @ParameterizedTest
  @ValueSource(strings = {"007", "+1", ".5", "1.", "0x10", " 7", "7 ", "NaN", "Infinity", "true", "null", "", "[1]", "{\"a\": 1}", "1e", "--1"})
  void noTemplate_anythingElse_isAJsonString(String argument) {
    String input = EachTemplate.none().render(argument, 1);
    JsonNode parsed = Json.parse(input);
    assertTrue(parsed.isTextual(), input);
    assertEquals(argument, parsed.asText());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', value = {
      "{\"a\": {}}|{} at character 7",
      "{\"n\": {#}}|{#} at character 7",
      "{}|{} at character 1",
      "[\"{}\", {/}]|{/} at character 8",
      "{\"a\": \"{}\"} {.}|{.} at character 13"
  })
  void aReplacementStringOutsideQuotes_isMalformed_sayingWhereAndWhatToWrite(String template, String where) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EachTemplate.parse(template));
    assertTrue(e.getMessage().contains("replacement string " + where), e.getMessage());
    assertTrue(e.getMessage().contains("stands outside quotes"), e.getMessage());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', value = {
      "{\"a\": \"{}\"|is not JSON",
      "{'a': \"{}\"}|is not JSON",
      "{\"a\": \"{}\"} {\"b\": 1}|more than one JSON value",
      "1 2|more than one JSON value",
      "'   '|is empty"
  })
  void aTemplateThatIsNotOneJsonValue_isMalformed(String template, String why) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EachTemplate.parse(template));
    assertTrue(e.getMessage().contains(why), e.getMessage());
    assertTrue(!e.getMessage().contains("Source:"), e.getMessage());
  }

  @Test
  void aTemplateWithoutReplacementStrings_isTheSameInputForEveryArgument() {
    assertEquals("{\"n\": 7}", EachTemplate.parse("{\"n\": 7}").render("x", 3));
  }
}
