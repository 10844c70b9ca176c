package dev.offload.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.offload.sdk.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZInputStream;

class CompressHandlerTest {

  @TempDir Path dir;

  private final CompressHandler handler = new CompressHandler();

  @ParameterizedTest
  @CsvSource({"gzip, .gz, 6", "xz, .xz, 6", "zstd, .zst, 3"})
  void run_defaults_writesBesideInputWithDefaultLevelAndJavaDecompressorRestoresIt(
      String format, String suffix, int level) throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 300_000, 1);

    JsonNode output = compress(file, format, null);

    Path compressed = dir.resolve("data.bin" + suffix);
    assertEquals(file.toString(), output.get("path").asText());
    assertEquals(compressed.toString(), output.get("output").asText());
    assertEquals(format, output.get("format").asText());
    assertEquals(level, output.get("level").asInt());
    assertEquals(300_000, output.get("input_size").asLong());
    assertEquals(Files.size(compressed), output.get("output_size").asLong());
    assertEquals(Files.size(compressed) / 300_000.0, output.get("ratio").asDouble(), 1e-12);
    assertTrue(output.get("ratio").asDouble() < 0.9, output.toString());
    assertArrayEquals(Files.readAllBytes(file), decompress(format, compressed));
    assertEquals(List.of("data.bin", "data.bin" + suffix), TestFiles.names(dir));
  }

  @ParameterizedTest
  @CsvSource({"gzip, gzip", "xz, xz", "zstd, zstd"})
  void run_anyFormat_commandLineToolRestoresIdenticalBytes(String format, String tool) throws Exception {
    Assumptions.assumeTrue(TestFiles.onPath(tool), tool + " is not installed");
    Path file = TestFiles.generate(dir.resolve("data.bin"), 500_000, 2);

    JsonNode output = compress(file, format, null);

    assertArrayEquals(Files.readAllBytes(file), TestFiles.run(tool, "-dc", output.get("output").asText()));
  }

  @ParameterizedTest
  @CsvSource({"gzip, 1", "gzip, 9", "xz, 0", "xz, 9", "zstd, 1", "zstd, 19"})
  void run_extremeLevels_roundTrip(String format, int level) throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 100_000, 3);

    JsonNode output = compress(file, format, level);

    assertEquals(level, output.get("level").asInt());
    assertArrayEquals(Files.readAllBytes(file), decompress(format, Path.of(output.get("output").asText())));
  }

  @ParameterizedTest
  @ValueSource(strings = {"gzip", "xz", "zstd"})
  void run_emptyFile_ratioZeroAndRoundTrips(String format) throws Exception {
    Path file = Files.createFile(dir.resolve("empty"));

    JsonNode output = compress(file, format, null);

    assertEquals(0, output.get("input_size").asLong());
    assertTrue(output.get("output_size").asLong() > 0);
    assertEquals(0.0, output.get("ratio").asDouble());
    assertArrayEquals(new byte[0], decompress(format, Path.of(output.get("output").asText())));
  }

  @ParameterizedTest
  @CsvSource({"gzip, 0", "gzip, 10", "xz, -1", "xz, 10", "zstd, 0", "zstd, 20"})
  void run_levelOutOfRange_throwsGivingTheRange(String format, int level) throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 4);

    var e = assertThrows(IllegalArgumentException.class, () -> compress(file, format, level));

    assertTrue(e.getMessage().contains("\"level\" must be a whole number from"), e.getMessage());
    assertEquals(List.of("data.bin"), TestFiles.names(dir));
  }

  @Test
  void run_formatInUpperCase_accepted() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 5);

    assertEquals("xz", compress(file, "XZ", null).get("format").asText());
  }

  @Test
  void run_unknownFormat_throwsListingTheKnownOnes() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 5);

    var e = assertThrows(IllegalArgumentException.class, () -> compress(file, "bzip2", null));

    assertEquals("compress knows the formats gzip, xz and zstd, not 'bzip2'", e.getMessage());
  }

  @Test
  void run_existingOutput_refusesNamingItAndLeavesItAlone() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 6);
    Path existing = Files.writeString(dir.resolve("data.bin.gz"), "precious");

    var e = assertThrows(IllegalArgumentException.class, () -> compress(file, "gzip", null));

    assertTrue(e.getMessage().contains("output file exists: " + existing), e.getMessage());
    assertTrue(e.getMessage().contains("\"overwrite\": true"), e.getMessage());
    assertEquals("precious", Files.readString(existing));
    assertEquals(List.of("data.bin", "data.bin.gz"), TestFiles.names(dir));
  }

  @Test
  void run_existingOutputWithOverwrite_replacesIt() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 7);
    Path existing = Files.writeString(dir.resolve("data.bin.gz"), "stale");
    ObjectNode input = input(file, "gzip", null);
    input.put("overwrite", true);

    handler.run(Json.write(input), RecordingContext.running());

    assertArrayEquals(Files.readAllBytes(file), decompress("gzip", existing));
    assertEquals(List.of("data.bin", "data.bin.gz"), TestFiles.names(dir));
  }

  @Test
  void run_explicitOutput_writesThere() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 8);
    Path target = Files.createDirectory(dir.resolve("out")).resolve("packed.zst");
    ObjectNode input = input(file, "zstd", null);
    input.put("output", target.toString());

    JsonNode output = Json.parse(handler.run(Json.write(input), RecordingContext.running()));

    assertEquals(target.toString(), output.get("output").asText());
    assertArrayEquals(Files.readAllBytes(file), decompress("zstd", target));
  }

  @Test
  void run_outputIsTheInput_refusesEvenWithOverwrite() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 9);
    byte[] before = Files.readAllBytes(file);
    ObjectNode input = input(file, "gzip", null);
    input.put("output", file.toString());
    input.put("overwrite", true);

    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(Json.write(input), RecordingContext.running()));

    assertTrue(e.getMessage().contains("over its input file"), e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(file));
  }

  @Test
  void run_outputDirectoryMissing_throwsNamingIt() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 10);
    ObjectNode input = input(file, "gzip", null);
    input.put("output", dir.resolve("missing/data.gz").toString());

    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(Json.write(input), RecordingContext.running()));

    assertTrue(e.getMessage().contains("no such directory: " + dir.resolve("missing")), e.getMessage());
  }

  @Test
  void run_outputIsADirectory_throws() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 11);
    Files.createDirectory(dir.resolve("data.bin.gz"));

    var e = assertThrows(IllegalArgumentException.class, () -> compress(file, "gzip", null));

    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
  }

  @Test
  void run_missingInput_throwsNamingItAndWritesNothing() {
    Path missing = dir.resolve("missing.bin");

    var e = assertThrows(IllegalArgumentException.class, () -> compress(missing, "gzip", null));

    assertEquals("no such file: " + missing, e.getMessage());
    assertFalse(Files.exists(dir.resolve("missing.bin.gz")));
  }

  @Test
  void run_inputIsADirectory_throws() {
    var e = assertThrows(IllegalArgumentException.class, () -> compress(dir, "gzip", null));

    assertEquals(dir + " is a directory, not a file", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"path\": \"x\", \"level\": 1.5}", "{\"path\": \"x\", \"level\": \"6\"}", "{\"path\": \"x\", \"overwrite\": \"yes\"}", "{\"path\": \"x\", \"output\": 3}"})
  void run_badFieldTypes_throwNamingTheField(String template) throws Exception {
    Path file = TestFiles.generate(dir.resolve("x"), 10, 12);
    String inputJson = template.replace("\"x\"", Json.mapper().writeValueAsString(file.toString()));

    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(inputJson, RecordingContext.running()));

    assertTrue(e.getMessage().startsWith("compress's \""), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"gzip", "xz", "zstd"})
  void run_largeFile_reportsProgressToOne(String format) throws Exception {
    Path file = TestFiles.generate(dir.resolve("large.bin"), 8 << 20, 13);
    RecordingContext context = RecordingContext.running();

    handler.run(Json.write(input(file, format, 1)), context);

    assertTrue(context.reports.size() >= 5, context.reports.toString());
    assertEquals(1.0, context.reports.getLast().fraction());
    assertTrue(context.reports.getFirst().message().startsWith("compressed "), context.reports.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"gzip", "xz", "zstd"})
  void run_cancelledMidway_leavesNoOutputAndNoTemporaryFile(String format) throws Exception {
    Path file = TestFiles.generate(dir.resolve("large.bin"), 8 << 20, 14);

    assertThrows(
        CancellationException.class,
        () -> handler.run(Json.write(input(file, format, 1)), RecordingContext.cancelledOnFirstProgress()));

    assertEquals(List.of("large.bin"), TestFiles.names(dir));
  }

  @Test
  void run_interruptedMidwayAsTheWorkerCancels_leavesNoOutputAndNoTemporaryFile() throws Exception {
    Path file = TestFiles.generate(dir.resolve("large.bin"), 8 << 20, 15);
    RecordingContext context = RecordingContext.cancelledWithInterruptOnFirstProgress();

    try {
      // The interrupt closes the file channels mid-read, as a real cancel does.
      assertThrows(Exception.class, () -> handler.run(Json.write(input(file, "gzip", 1)), context));
    } finally {
      Thread.interrupted();
    }

    assertTrue(context.isCancelled());
    assertEquals(List.of("large.bin"), TestFiles.names(dir));
  }

  @Test
  void run_cancelledBeforeStart_writesNothing() throws Exception {
    Path file = TestFiles.generate(dir.resolve("data.bin"), 1000, 16);

    assertThrows(
        CancellationException.class,
        () -> handler.run(Json.write(input(file, "gzip", null)), RecordingContext.cancelled()));

    assertEquals(List.of("data.bin"), TestFiles.names(dir));
  }

  @Test
  void xzOptions_smallInput_dictionaryShrunkToFit() throws Exception {
    LZMA2Options options = CompressHandler.xzOptions(9, 10_000);

    assertEquals(16_384, options.getDictSize());
  }

  @Test
  void xzOptions_emptyInput_smallestDictionary() throws Exception {
    assertEquals(LZMA2Options.DICT_SIZE_MIN, CompressHandler.xzOptions(6, 0).getDictSize());
  }

  @Test
  void xzOptions_largeInput_presetDictionary() throws Exception {
    assertEquals(new LZMA2Options(6).getDictSize(), CompressHandler.xzOptions(6, 1L << 40).getDictSize());
  }

  private JsonNode compress(Path file, String format, Integer level) throws Exception {
    return Json.parse(handler.run(Json.write(input(file, format, level)), RecordingContext.running()));
  }

  private static ObjectNode input(Path file, String format, Integer level) {
    ObjectNode input = Json.object();
    input.put("path", file.toString());
    input.put("format", format);
    if (level != null) {
      input.put("level", level);
    }
    return input;
  }

  private static byte[] decompress(String format, Path file) throws IOException {
    try (InputStream raw = Files.newInputStream(file);
        InputStream in =
            switch (format) {
              case "gzip" -> new GZIPInputStream(raw);
              case "xz" -> new XZInputStream(raw);
              case "zstd" -> new ZstdInputStreamNoFinalizer(raw);
              default -> throw new IllegalArgumentException(format);
            }) {
      return in.readAllBytes();
    }
  }
}
