package dev.offload.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.offload.sdk.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How {@code offload each} makes a job's input JSON from one argument: a JSON template in which GNU
 * parallel's replacement strings ({@code {}}, {@code {.}}, {@code {/}}, {@code {//}}, {@code {/.}},
 * {@code {#}}) stand inside string literals, their values inserted JSON-escaped; or, with no
 * template, the argument itself, as a JSON number when it is one by JSON's grammar and as a JSON
 * string otherwise. The template is read once, with Jackson's parser, and each job's input is
 * made from its pieces; the result is always one JSON value. Immutable and thread-safe.
 */
final class EachTemplate {

  /** The replacement strings {@code each} knows: GNU parallel's, for paths and the sequence number. */
  static final Pattern REPLACEMENT = Pattern.compile("\\{(?:|\\.|/|//|/\\.|#)}");

  /** A number by JSON's grammar (RFC 8259, section 6): sent as it is when there is no template. */
  private static final Pattern JSON_NUMBER = Pattern.compile("-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?");

  /** GNU parallel's {@code {.}}: a last extension, dot included, that holds no slash. */
  private static final Pattern EXTENSION = Pattern.compile("\\.[^/.]*$");

  /** A piece of the template: text copied as it is, or a string literal that holds replacement strings. */
  private sealed interface Piece {}

  private record Text(String text) implements Piece {}

  /** A string literal's value, decoded, to have its replacement strings replaced and be encoded again. */
  private record Literal(String value) implements Piece {}

  /** A string literal of the template: where it stands (its quotes included) and its decoded value. */
  private record Span(int start, int end, String value) {}

  /** The template's pieces; null for no template, where the input is the argument itself. */
  private final List<Piece> pieces;

  private EachTemplate(List<Piece> pieces) {
    this.pieces = pieces;
  }

  /** No template: each job's input is its argument, a JSON number or a JSON string. */
  static EachTemplate none() {
    return new EachTemplate(null);
  }

  /**
   * Reads a template.
   *
   * @param template the INPUT_TEMPLATE as given
   * @return the template
   * @throws IllegalArgumentException if it is not one JSON value, or a replacement string stands
   *     outside a string literal; the message says where and what to write instead
   */
  static EachTemplate parse(String template) {
    List<Span> spans = new ArrayList<>();
    JsonProcessingException failure = null;
    int roots = 0;
    try (JsonParser parser = Json.mapper().getFactory().createParser(template)) {
      int depth = 0;
      for (JsonToken token = parser.nextToken(); token != null; token = parser.nextToken()) {
        if (depth == 0 && token != JsonToken.END_ARRAY && token != JsonToken.END_OBJECT && ++roots > 1) {
          break;
        }
        switch (token) {
          case START_OBJECT, START_ARRAY -> depth++;
          case END_OBJECT, END_ARRAY -> depth--;
          case FIELD_NAME, VALUE_STRING -> {
            int start = (int) parser.currentTokenLocation().getCharOffset();
            String value = token == JsonToken.FIELD_NAME ? parser.currentName() : parser.getText();
            spans.add(new Span(start, literalEnd(template, start), value));
          }
          default -> { }
        }
      }
    } catch (JsonProcessingException e) {
      failure = e;
    } catch (IOException e) {
      throw new IllegalStateException("reading a string cannot fail", e);
    }
    long failedAt = failure == null ? Long.MAX_VALUE : failure.getLocation().getCharOffset();
    Matcher replacement = REPLACEMENT.matcher(template);
    while (replacement.find()) {
      if (replacement.start() <= failedAt && !inside(spans, replacement.start())) {
        throw new IllegalArgumentException("INPUT_TEMPLATE " + template + ": the replacement string " + replacement.group()
            + " at character " + (replacement.start() + 1) + " stands outside quotes; replacement strings may stand only"
            + " inside JSON strings, where their values are inserted JSON-escaped: write \"" + replacement.group()
            + "\" (with no template at all, an argument that is a JSON number is sent as a number)");
      }
    }
    if (failure != null) {
      // Jackson's message may point at the source, which is the template already shown.
      String why = failure.getOriginalMessage().replaceAll(" ?\\(start marker at \\[Source: [^]]*]\\)", "");
      throw new IllegalArgumentException("INPUT_TEMPLATE " + template + " is not JSON: " + why
          + " (character " + (failedAt + 1) + "); write one JSON value, quoted for the shell, for example '{\"path\": \"{}\"}'");
    }
    if (roots == 0) {
      throw new IllegalArgumentException("INPUT_TEMPLATE is empty; write one JSON value, for example '{\"path\": \"{}\"}',"
          + " or leave it out to send each argument itself");
    }
    if (roots > 1) {
      throw new IllegalArgumentException("INPUT_TEMPLATE " + template + " holds more than one JSON value; write one, for"
          + " example an object or an array around them");
    }
    return new EachTemplate(pieces(template, spans));
  }

  /**
   * The input of the job of this argument.
   *
   * @param argument the argument
   * @param sequence the job's sequence number, from 1 ({@code {#}})
   * @return one JSON value
   */
  String render(String argument, long sequence) {
    if (pieces == null) {
      return JSON_NUMBER.matcher(argument).matches() ? argument : quote(argument);
    }
    StringBuilder input = new StringBuilder();
    for (Piece piece : pieces) {
      switch (piece) {
        case Text text -> input.append(text.text());
        case Literal literal -> input.append(quote(REPLACEMENT.matcher(literal.value())
            .replaceAll(found -> Matcher.quoteReplacement(value(found.group(), argument, sequence)))));
      }
    }
    return input.toString();
  }

  /**
   * The value of one replacement string for this argument, as GNU parallel has it: {@code {.}}
   * without its last extension, {@code {/}} the part after the last slash, {@code {//}} the
   * directory as {@code dirname(1)} gives it, {@code {/.}} the part after the last slash without
   * its extension, {@code {#}} the sequence number.
   */
  static String value(String replacement, String argument, long sequence) {
    return switch (replacement) {
      case "{}" -> argument;
      case "{.}" -> withoutExtension(argument);
      case "{/}" -> basename(argument);
      case "{//}" -> dirname(argument);
      case "{/.}" -> withoutExtension(basename(argument));
      case "{#}" -> Long.toString(sequence);
      default -> throw new IllegalArgumentException("not a replacement string: " + replacement);
    };
  }

  private static String withoutExtension(String path) {
    return EXTENSION.matcher(path).replaceFirst("");
  }

  private static String basename(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  /** As Perl's {@code File::Basename::dirname}, which GNU parallel's {@code {//}} is. */
  private static String dirname(String path) {
    if (!path.isEmpty() && path.chars().allMatch(c -> c == '/')) {
      return "/";
    }
    String trimmed = stripTrailingSlashes(path);
    int slash = trimmed.lastIndexOf('/');
    if (slash < 0) {
      return ".";
    }
    String directory = stripTrailingSlashes(trimmed.substring(0, slash));
    return directory.isEmpty() ? "/" : directory;
  }

  private static String stripTrailingSlashes(String path) {
    int end = path.length();
    while (end > 0 && path.charAt(end - 1) == '/') {
      end--;
    }
    return path.substring(0, end);
  }

  /** The value as a JSON string. */
  static String quote(String value) {
    return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(value)) + '"';
  }

  /**
   * The end of the string literal that starts at {@code start} (after its closing quote). The
   * parser has read the literal already, so it is well formed: a backslash always escapes the
   * character after it, and the first quote not escaped closes it.
   */
  private static int literalEnd(String template, int start) {
    if (template.charAt(start) != '"') {
      throw new IllegalStateException("the parser's string token does not start at a quote: " + start + " in " + template);
    }
    int at = start + 1;
    while (template.charAt(at) != '"') {
      at += template.charAt(at) == '\\' ? 2 : 1;
    }
    return at + 1;
  }

  private static boolean inside(List<Span> spans, int at) {
    for (Span span : spans) {
      if (span.start() < at && at < span.end()) {
        return true;
      }
    }
    return false;
  }

  private static List<Piece> pieces(String template, List<Span> spans) {
    List<Piece> pieces = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    int copied = 0;
    for (Span span : spans) {
      if (!REPLACEMENT.matcher(span.value()).find()) {
        continue; // copied with the text around it
      }
      text.append(template, copied, span.start());
      pieces.add(new Text(text.toString()));
      text.setLength(0);
      pieces.add(new Literal(span.value()));
      copied = span.end();
    }
    text.append(template, copied, template.length());
    pieces.add(new Text(text.toString()));
    return List.copyOf(pieces);
  }
}
