package dev.offload.worker.handlers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HashHandlerTest {

  @TempDir Path dir;

  private final HashHandler handler = new HashHandler();

  @ParameterizedTest
  @CsvSource({
    "sha256, e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "sha512, cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    "sha1, da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "md5, d41d8cd98f00b204e9800998ecf8427e",
  })
  void run_emptyFile_knownDigest(String algorithm, String digest) throws Exception {
    Path file = Files.createFile(dir.resolve("empty"));

    JsonNode output = hash(file, algorithm);

    assertEquals(digest, output.get("digest").asText());
    assertEquals(0, output.get("size").asLong());
  }

  @ParameterizedTest
  @CsvSource({
    "sha256, ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha512, ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "sha1, a9993e364706816aba3e25717850c26c9cd0d89d",
    "md5, 900150983cd24fb0d6963f7d28e17f72",
  })
  void run_abc_knownDigest(String algorithm, String digest) throws Exception {
    Path file = Files.writeString(dir.resolve("abc.txt"), "abc", StandardCharsets.US_ASCII);

    JsonNode output = hash(file, algorithm);

    assertEquals(digest, output.get("digest").asText());
    assertEquals(3, output.get("size").asLong());
  }

  @ParameterizedTest
  @CsvSource({"sha256, sha256sum", "sha512, sha512sum", "sha1, sha1sum", "md5, md5sum"})
  void run_generatedFile_agreesWithCoreutils(String algorithm, String tool) throws Exception {
    Assumptions.assumeTrue(TestFiles.onPath(tool), tool + " is not installed");
    // Not a multiple of the buffer size, so the last chunk is a short one.
    Path file = TestFiles.generate(dir.resolve("data.bin"), 3 * ChunkedReader.BUFFER_SIZE + 12_345, 1);

    String expected = new String(TestFiles.run(tool, file.toString()), StandardCharsets.US_ASCII).split(" ")[0];

    assertEquals(expected, hash(file, algorithm).get("digest").asText());
  }

  @Test
  void run_noAlgorithm_sha256WithAbsolutePathAndSize() throws Exception {
    Path file = Files.writeString(dir.resolve("abc.txt"), "abc", StandardCharsets.US_ASCII);

    String output = handler.run("{\"path\": " + Json.mapper().writeValueAsString(file.toString()) + "}", RecordingContext.running());

    assertEquals(
        "{\"path\":" + Json.mapper().writeValueAsString(file.toString()) + ",\"algorithm\":\"sha256\","
            + "\"digest\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":3}",
        output);
  }

  @ParameterizedTest
  @ValueSource(strings = {"SHA256", "Sha256", "sha256"})
  void run_algorithmInAnyCase_acceptedAndReportedInLowerCase(String algorithm) throws Exception {
    Path file = Files.writeString(dir.resolve("abc.txt"), "abc", StandardCharsets.US_ASCII);

    JsonNode output = hash(file, algorithm);

    assertEquals("sha256", output.get("algorithm").asText());
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", output.get("digest").asText());
  }

  @Test
  void run_relativePath_resolvedAgainstWorkingDirectoryAndReportedAbsolute() throws Exception {
    Path file = Files.writeString(dir.resolve("abc.txt"), "abc", StandardCharsets.US_ASCII);
    Path relative = Path.of("").toAbsolutePath().relativize(file);

    JsonNode output = hash(relative, "md5");

    assertEquals(file.toString(), output.get("path").asText());
    assertEquals("900150983cd24fb0d6963f7d28e17f72", output.get("digest").asText());
  }

  @ParameterizedTest
  @ValueSource(strings = {"sha3", "sha-256", "crc32", ""})
  void run_unknownAlgorithm_throwsListingTheAcceptedOnes(String algorithm) throws Exception {
    Path file = Files.writeString(dir.resolve("abc.txt"), "abc");

    var e = assertThrows(IllegalArgumentException.class, () -> hash(file, algorithm));

    assertTrue(e.getMessage().contains("sha256, sha512, sha1 and md5"), e.getMessage());
    assertTrue(e.getMessage().contains("'" + algorithm + "'"), e.getMessage());
  }

  @Test
  void run_missingFile_throwsNamingThePath() {
    Path missing = dir.resolve("no-such-file");

    var e = assertThrows(IllegalArgumentException.class, () -> hash(missing, "sha256"));

    assertEquals("no such file: " + missing, e.getMessage());
  }

  @Test
  void run_directory_throwsSayingItIsADirectory() {
    var e = assertThrows(IllegalArgumentException.class, () -> hash(dir, "sha256"));

    assertEquals(dir + " is a directory, not a file", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{}", "{\"path\": null}", "{\"path\": \"\"}", "{\"path\": 7}", "\"/etc/hosts\"", "null", "[]"})
  void run_noUsablePath_throwsNamingHash(String input) {
    var e = assertThrows(IllegalArgumentException.class, () -> handler.run(input, RecordingContext.running()));

    assertTrue(e.getMessage().startsWith("hash"), e.getMessage());
  }

  @Test
  void run_algorithmNotText_throws() throws Exception {
    Path file = Files.writeString(dir.resolve("abc.txt"), "abc");

    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> handler.run("{\"path\": \"" + file + "\", \"algorithm\": 256}", RecordingContext.running()));

    assertTrue(e.getMessage().contains("\"algorithm\""), e.getMessage());
  }

  @Test
  void run_largeFile_reportsRisingProgressEndingAtOne() throws Exception {
    Path file = TestFiles.generate(dir.resolve("large.bin"), 8 << 20, 2);
    RecordingContext context = RecordingContext.running();

    handler.run(input(file, "sha256"), context);

    assertTrue(context.reports.size() >= 5, context.reports.toString());
    double previous = 0;
    for (RecordingContext.Progress report : context.reports) {
      assertTrue(report.fraction() > previous && report.fraction() <= 1.0, context.reports.toString());
      assertTrue(report.message().startsWith("hashed "), report.message());
      previous = report.fraction();
    }
    assertEquals(1.0, previous);
  }

  @Test
  void run_smallFile_reportsNoProgress() throws Exception {
    Path file = TestFiles.generate(dir.resolve("small.bin"), 100_000, 3);
    RecordingContext context = RecordingContext.running();

    handler.run(input(file, "sha256"), context);

    assertEquals(0, context.reports.size());
  }

  @Test
  void run_cancelledDuringLargeFile_throwsCancellationException() throws Exception {
    Path file = TestFiles.generate(dir.resolve("large.bin"), 8 << 20, 4);
    RecordingContext context = RecordingContext.cancelledOnFirstProgress();

    assertThrows(CancellationException.class, () -> handler.run(input(file, "sha256"), context));
    assertEquals(1, context.reports.size());
  }

  private JsonNode hash(Path file, String algorithm) throws Exception {
    return Json.parse(handler.run(input(file, algorithm), RecordingContext.running()));
  }

  private static String input(Path file, String algorithm) {
    var input = Json.object();
    input.put("path", file.toString());
    input.put("algorithm", algorithm);
    return Json.write(input);
  }
}
