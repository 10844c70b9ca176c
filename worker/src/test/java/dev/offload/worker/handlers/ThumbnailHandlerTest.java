package dev.offload.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.offload.sdk.Json;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ThumbnailHandlerTest {

  @TempDir Path dir;

  private final ThumbnailHandler handler = new ThumbnailHandler();

  @Test
  void classInit_headlessUnset_setsHeadless() {
    assertEquals("true", System.getProperty("java.awt.headless"));
  }

  @Test
  void run_png_scaledToWidthKeepingAspectRatio() throws Exception {
    Path png = image(dir.resolve("photo.png"), "png", 400, 300, false);

    JsonNode output = thumbnail(png, 100);

    Path written = dir.resolve("photo-100w.png");
    assertEquals(png.toString(), output.get("path").asText());
    assertEquals(written.toString(), output.get("output").asText());
    assertEquals(100, output.get("width").asInt());
    assertEquals(75, output.get("height").asInt());
    assertEquals(400, output.get("source_width").asInt());
    assertEquals(300, output.get("source_height").asInt());
    assertEquals("png", output.get("format").asText());
    assertEquals("png", formatOf(written));
    BufferedImage read = ImageIO.read(written.toFile());
    assertEquals(100, read.getWidth());
    assertEquals(75, read.getHeight());
  }

  @Test
  void run_jpeg_scaledToWidthKeepingAspectRatio() throws Exception {
    Path jpeg = image(dir.resolve("photo.jpg"), "jpeg", 640, 480, false);

    JsonNode output = thumbnail(jpeg, 160);

    Path written = dir.resolve("photo-160w.jpg");
    assertEquals(written.toString(), output.get("output").asText());
    assertEquals("jpeg", output.get("format").asText());
    assertEquals("jpeg", formatOf(written));
    BufferedImage read = ImageIO.read(written.toFile());
    assertEquals(160, read.getWidth());
    assertEquals(120, read.getHeight());
  }

  @ParameterizedTest
  @CsvSource({
    "333, 100, 100, 30",
    "100, 333, 50, 167",
    "1000, 1, 10, 1",
    "50, 40, 200, 160",
    "101, 99, 101, 99",
    "3000, 2000, 7, 5",
  })
  void run_anySize_heightIsRoundedProportionAtLeastOne(int w, int h, int width, int height) throws Exception {
    Path png = image(dir.resolve("in.png"), "png", w, h, false);

    JsonNode output = thumbnail(png, width);

    assertEquals(height, output.get("height").asInt());
    BufferedImage read = ImageIO.read(Path.of(output.get("output").asText()).toFile());
    assertEquals(width, read.getWidth());
    assertEquals(height, read.getHeight());
  }

  @Test
  void run_solidColour_keepsTheColour() throws Exception {
    Path png = dir.resolve("red.png");
    BufferedImage red = new BufferedImage(800, 600, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = red.createGraphics();
    g.setColor(new Color(200, 30, 40));
    g.fillRect(0, 0, 800, 600);
    g.dispose();
    ImageIO.write(red, "png", png.toFile());

    BufferedImage read = ImageIO.read(Path.of(thumbnail(png, 60).get("output").asText()).toFile());

    assertEquals(new Color(200, 30, 40).getRGB(), read.getRGB(30, 22));
    assertEquals(new Color(200, 30, 40).getRGB(), read.getRGB(0, 0));
  }

  @Test
  void run_fineStripes_averagedToGreyNotAliased() throws Exception {
    // One-pixel black and white stripes: a thumbnail should be mid grey, not black or white.
    Path png = dir.resolve("stripes.png");
    BufferedImage stripes = new BufferedImage(1024, 64, BufferedImage.TYPE_INT_RGB);
    for (int x = 0; x < 1024; x++) {
      for (int y = 0; y < 64; y++) {
        stripes.setRGB(x, y, x % 2 == 0 ? 0xffffff : 0x000000);
      }
    }
    ImageIO.write(stripes, "png", png.toFile());

    BufferedImage read = ImageIO.read(Path.of(thumbnail(png, 32).get("output").asText()).toFile());

    for (int x = 0; x < 32; x++) {
      int grey = read.getRGB(x, 1) & 0xff;
      assertTrue(grey > 100 && grey < 155, "pixel " + x + " is " + grey);
    }
  }

  @Test
  void run_pngWithAlphaToPng_keepsTransparency() throws Exception {
    Path png = image(dir.resolve("alpha.png"), "png", 400, 400, true);

    BufferedImage read = ImageIO.read(Path.of(thumbnail(png, 100).get("output").asText()).toFile());

    assertTrue(read.getColorModel().hasAlpha());
    assertEquals(0, read.getRGB(2, 2) >>> 24, "the transparent corner stays transparent");
    assertEquals(255, read.getRGB(50, 50) >>> 24, "the opaque middle stays opaque");
  }

  @Test
  void run_pngWithAlphaToJpeg_transparentBecomesWhite() throws Exception {
    Path png = image(dir.resolve("alpha.png"), "png", 400, 400, true);
    ObjectNode input = input(png, 100);
    input.put("output", dir.resolve("flat.jpg").toString());

    JsonNode output = Json.parse(handler.run(Json.write(input), RecordingContext.running()));

    assertEquals("jpeg", output.get("format").asText());
    BufferedImage read = ImageIO.read(dir.resolve("flat.jpg").toFile());
    Color corner = new Color(read.getRGB(1, 1));
    assertTrue(corner.getRed() > 240 && corner.getGreen() > 240 && corner.getBlue() > 240, corner.toString());
  }

  @ParameterizedTest
  @CsvSource({"out.png, png", "out.PNG, png", "out.jpg, jpeg", "out.jpeg, jpeg", "out.JPG, jpeg"})
  void run_outputExtension_choosesFormat(String name, String format) throws Exception {
    Path jpeg = image(dir.resolve("in.jpg"), "jpeg", 200, 100, false);
    ObjectNode input = input(jpeg, 50);
    input.put("output", dir.resolve(name).toString());

    JsonNode output = Json.parse(handler.run(Json.write(input), RecordingContext.running()));

    assertEquals(format, output.get("format").asText());
    assertEquals(format, formatOf(dir.resolve(name)));
  }

  @ParameterizedTest
  @CsvSource({
    "photo.png, png, photo-64w.png",
    "photo.JPEG, jpeg, photo-64w.JPEG",
    "picture, png, picture-64w.png",
    "picture, jpeg, picture-64w.jpg",
    "archive.tar.png, png, archive.tar-64w.png",
    "mislabelled.gif, png, mislabelled.gif-64w.png",
  })
  void run_noOutput_defaultsToNameWidthExtensionBesideInput(String name, String format, String expected)
      throws Exception {
    Path file = image(dir.resolve(name), format, 128, 128, false);

    assertEquals(dir.resolve(expected).toString(), thumbnail(file, 64).get("output").asText());
    assertTrue(Files.exists(dir.resolve(expected)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"out.gif", "out", "out.webp"})
  void run_outputWithoutImageExtension_throws(String name) throws Exception {
    Path png = image(dir.resolve("in.png"), "png", 20, 20, false);
    ObjectNode input = input(png, 10);
    input.put("output", dir.resolve(name).toString());

    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(Json.write(input), RecordingContext.running()));

    assertTrue(e.getMessage().contains(".png, .jpg or .jpeg"), e.getMessage());
  }

  @Test
  void run_existingOutput_refusesUnlessOverwrite() throws Exception {
    Path png = image(dir.resolve("in.png"), "png", 200, 200, false);
    Path existing = Files.writeString(dir.resolve("in-50w.png"), "precious");

    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(png, 50));

    assertTrue(e.getMessage().contains("output file exists: " + existing), e.getMessage());
    assertEquals("precious", Files.readString(existing));

    ObjectNode input = input(png, 50);
    input.put("overwrite", true);
    handler.run(Json.write(input), RecordingContext.running());

    assertEquals(50, ImageIO.read(existing.toFile()).getWidth());
    assertEquals(List.of("in-50w.png", "in.png"), TestFiles.names(dir));
  }

  @Test
  void run_notAnImage_throwsNamingTheFile() throws Exception {
    Path text = Files.writeString(dir.resolve("notes.png"), "these are not pixels\n".repeat(50));

    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(text, 50));

    assertEquals("not a PNG or JPEG image: " + text, e.getMessage());
    assertEquals(List.of("notes.png"), TestFiles.names(dir));
  }

  @Test
  void run_gif_throwsSayingOnlyPngAndJpeg() throws Exception {
    Path gif = image(dir.resolve("anim.gif"), "gif", 40, 40, false);

    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(gif, 20));

    assertEquals("not a PNG or JPEG image: " + gif, e.getMessage());
  }

  @Test
  void run_truncatedPng_throwsNamingTheFile() throws Exception {
    Path png = image(dir.resolve("whole.png"), "png", 300, 300, false);
    byte[] bytes = Files.readAllBytes(png);
    Path truncated = Files.write(dir.resolve("truncated.png"), Arrays.copyOf(bytes, bytes.length / 2));

    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(truncated, 50));

    assertTrue(e.getMessage().startsWith("cannot read " + truncated + " as PNG"), e.getMessage());
    assertTrue(Files.notExists(dir.resolve("truncated-50w.png")));
  }

  @Test
  void run_missingFile_throwsNamingIt() {
    Path missing = dir.resolve("missing.png");

    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(missing, 50));

    assertEquals("no such file: " + missing, e.getMessage());
  }

  @Test
  void run_directory_throws() {
    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(dir, 50));

    assertEquals(dir + " is a directory, not a file", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"path\": \"p\"}", "{\"path\": \"p\", \"width\": 0}", "{\"path\": \"p\", \"width\": -3}",
      "{\"path\": \"p\", \"width\": 12.5}", "{\"path\": \"p\", \"width\": 100000}", "{\"path\": \"p\", \"width\": \"64\"}"})
  void run_noUsableWidth_throwsNamingWidth(String inputJson) {
    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(inputJson, RecordingContext.running()));

    assertTrue(e.getMessage().contains("\"width\""), e.getMessage());
  }

  @Test
  void run_thumbnailTooTall_throws() throws Exception {
    Path png = image(dir.resolve("thin.png"), "png", 1, 2000, false);

    var e = assertThrows(IllegalArgumentException.class, () -> thumbnail(png, 10));

    assertTrue(e.getMessage().contains("would be 20000 pixels high"), e.getMessage());
  }

  @Test
  void run_cancelled_writesNothing() throws Exception {
    Path png = image(dir.resolve("in.png"), "png", 300, 200, false);

    assertThrows(
        CancellationException.class,
        () -> handler.run(Json.write(input(png, 50)), RecordingContext.cancelledOnFirstProgress()));

    assertEquals(List.of("in.png"), TestFiles.names(dir));
  }

  @Test
  void run_anyImage_reportsProgress() throws Exception {
    Path png = image(dir.resolve("in.png"), "png", 300, 200, false);
    RecordingContext context = RecordingContext.running();

    handler.run(Json.write(input(png, 50)), context);

    assertArrayEquals(
        new double[] {0.0, 0.5, 0.9},
        context.reports.stream().mapToDouble(RecordingContext.Progress::fraction).toArray());
  }

  private JsonNode thumbnail(Path file, int width) throws Exception {
    return Json.parse(handler.run(Json.write(input(file, width)), RecordingContext.running()));
  }

  private static ObjectNode input(Path file, int width) {
    ObjectNode input = Json.object();
    input.put("path", file.toString());
    input.put("width", width);
    return input;
  }

  /**
   * Writes a test image: a colour gradient with a few shapes, or, with {@code alpha}, an opaque
   * disc on a transparent ground.
   */
  private static Path image(Path file, String format, int width, int height, boolean alpha) throws IOException {
    BufferedImage image =
        new BufferedImage(width, height, alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    if (alpha) {
      g.setColor(new Color(20, 120, 220));
      g.fillOval(width / 8, height / 8, width * 3 / 4, height * 3 / 4);
    } else {
      for (int x = 0; x < width; x++) {
        g.setColor(new Color(255 * x / Math.max(1, width - 1), 128, 255 - 255 * x / Math.max(1, width - 1)));
        g.drawLine(x, 0, x, height);
      }
      g.setColor(Color.BLACK);
      g.fillRect(width / 4, height / 4, Math.max(1, width / 8), Math.max(1, height / 8));
    }
    g.dispose();
    assertTrue(ImageIO.write(image, format, file.toFile()), "no writer for " + format);
    return file;
  }

  /** The format ImageIO recognises in a file's content. */
  private static String formatOf(Path file) throws IOException {
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      var readers = ImageIO.getImageReaders(in);
      assertTrue(readers.hasNext(), file + " is not an image");
      ImageReader reader = readers.next();
      assertNotNull(reader);
      return reader.getFormatName().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
