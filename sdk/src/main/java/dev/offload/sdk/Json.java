package dev.offload.sdk;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The JSON codec of offload, for handlers that want one: Jackson, configured so that numbers stay
 * exact (integers of any size stay integers, decimals stay {@link java.math.BigDecimal}; nothing
 * passes through a double) and text after the one JSON value is an error. It is thread-safe.
 */
public final class Json {

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
          .build();

  private Json() {}

  /**
   * Parses JSON text: exactly one JSON value, with blank space around it allowed.
   *
   * @param json the text, such as a handler's input
   * @return the value as a tree ({@link JsonNode#path} reads fields that may be missing)
   * @throws IllegalArgumentException if the text is not one JSON value; the message says what is
   *     wrong, so a handler can let it fail the job as it is
   */
  public static JsonNode parse(String json) {
    return parse(json, "input");
  }

  /**
   * Parses JSON text as {@link #parse(String)} does, naming the text in the error message.
   *
   * @param json the text
   * @param what what the text is, as the message names it: {@code "the output"} makes it "the
   *     output is not valid JSON: ..."
   * @return the value as a tree
   * @throws IllegalArgumentException if the text is not one JSON value; the message says what is
   *     wrong
   */
  public static JsonNode parse(String json, String what) {
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (node == null || node.isMissingNode()) {
      throw new IllegalArgumentException(what + " is not valid JSON: there is no value, only blank text");
    }
    return node;
  }

  /** {@return a new, empty JSON object, to fill and {@linkplain #write write}} */
  public static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /**
   * Writes a JSON tree as compact text, numbers exactly as they are held.
   *
   * @param node the tree, such as an object from {@link #object()}
   * @return the JSON text, such as a handler's output
   */
  public static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not write JSON", e);
    }
  }

  /**
   * {@return the mapper itself, for code that binds JSON to its own types} It is shared: use it as
   * it is, or {@link ObjectMapper#copy()} it before changing its configuration.
   */
  public static ObjectMapper mapper() {
    return MAPPER;
  }
}
