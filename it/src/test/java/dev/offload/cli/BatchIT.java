package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.testing.Await;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.OffloadProcess;
import dev.offload.testing.RunningService;
import dev.offload.testing.Signals;
import dev.offload.sdk.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code offload batch} against a running service: results, bad lines, order, resume. */
@ExtendWith(NoLeftoverProcesses.class)
class BatchIT {

  @TempDir static Path dir;
  static RunningService service;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(2), dir);
  }

  @AfterAll
  static void stop() throws Exception {
    service.close();
  }

  private static Cli.Result batch(String... args) {
    List<String> all = new ArrayList<>(List.of("batch"));
    all.addAll(List.of(args));
    all.addAll(List.of("--server", service.target(), "--progress", "never"));
    return Cli.run(all.toArray(String[]::new));
  }

  private static List<JsonNode> results(Path file) throws IOException {
    return Files.readAllLines(file).stream().map(Json::parse).toList();
  }

  @Test
  void mixedBatch_oneCorrectResultPerId() throws Exception {
    Path jobs = dir.resolve("mixed.jsonl");
    List<String> lines = new ArrayList<>();
    Map<String, String> expected = new HashMap<>();
    for (int i = 0; i < 2000; i++) {
      String id = "job-" + i;
      switch (i % 3) {
        case 0 -> {
          lines.add("{\"id\": \"" + id + "\", \"handler\": \"echo\", \"input\": {\"i\": " + i + "}}");
          expected.put(id, "{\"i\":" + i + "}");
        }
        case 1 -> {
          long n = 1_000_003L + i;
          lines.add("{\"id\": \"" + id + "\", \"handler\": \"is_prime\", \"input\": " + n + "}");
          expected.put(id, "{\"n\":" + n + ",\"prime\":" + BigInteger.valueOf(n).isProbablePrime(50) + "}");
        }
        default -> {
          lines.add("{\"id\": \"" + id + "\", \"handler\": \"sleep\", \"input\": {\"ms\": 1}, \"timeout\": \"10s\"}");
          expected.put(id, "{\"slept_ms\":1}");
        }
      }
    }
    Files.write(jobs, lines);
    Path out = dir.resolve("mixed.out");
    Cli.Result r = batch(jobs.toString(), "--output", out.toString());
    assertEquals(0, r.exitCode(), r.err());
    List<JsonNode> results = results(out);
    assertEquals(2000, results.size());
    Map<String, Integer> seen = new HashMap<>();
    for (JsonNode result : results) {
      String id = result.get("id").asText();
      seen.merge(id, 1, Integer::sum);
      assertEquals("SUCCEEDED", result.get("state").asText(), result.toString());
      assertEquals(expected.get(id), Json.write(result.get("output")), id);
      assertTrue(result.get("worker_pid").asLong() > 0);
      for (String key : new String[] {"line", "error", "queued_ms", "run_ms"}) {
        assertTrue(result.has(key), key);
      }
    }
    assertEquals(2000, seen.size());
    assertTrue(seen.values().stream().allMatch(n -> n == 1));
  }

  @Test
  void badLineAndUnknownHandler_areReportedWithTheirLineNumbers_theRestSucceed_exit1() throws Exception {
    Path jobs = dir.resolve("bad.jsonl");
    Files.write(jobs, List.of(
        "{\"handler\": \"echo\", \"input\": 1}",
        "{not json",
        "{\"handler\": \"nope\", \"input\": 2}",
        "{\"handler\": \"echo\", \"input\": 3}"));
    Cli.Result r = batch(jobs.toString());
    assertEquals(1, r.exitCode(), r.err());
    Map<Long, JsonNode> byLine = new HashMap<>();
    r.out().lines().map(Json::parse).forEach(n -> byLine.put(n.get("line").asLong(), n));
    assertEquals(4, byLine.size());
    assertEquals("SUCCEEDED", byLine.get(1L).get("state").asText());
    assertEquals("INVALID", byLine.get(2L).get("state").asText());
    assertTrue(byLine.get(2L).get("error").get("message").asText().contains("line 2"));
    assertEquals("INVALID", byLine.get(3L).get("state").asText());
    assertTrue(byLine.get(3L).get("error").get("message").asText().contains("unknown handler 'nope'"));
    assertEquals("SUCCEEDED", byLine.get(4L).get("state").asText());
  }

  @Test
  void aLineOverTheRequestLimit_isRejectedNamingTheFlag_andEveryOtherLineRuns() throws Exception {
    Path jobs = dir.resolve("large.jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 1; i <= 21; i++) {
      // The service reads requests of up to 5 MiB by default; line 11 is 6 MB.
      String input = i == 11 ? "\"" + "x".repeat(6_000_000) + "\"" : Integer.toString(i);
      lines.add("{\"handler\": \"echo\", \"input\": " + input + "}");
    }
    Files.write(jobs, lines);

    Cli.Result r = batch(jobs.toString());

    assertEquals(1, r.exitCode(), r.err());
    Map<Long, JsonNode> byLine = new HashMap<>();
    r.out().lines().map(Json::parse).forEach(n -> byLine.put(n.get("line").asLong(), n));
    assertEquals(21, byLine.size(), r.err());
    JsonNode large = byLine.remove(11L);
    assertEquals("REJECTED", large.get("state").asText());
    assertEquals("RESOURCE_EXHAUSTED", large.get("error").get("code").asText());
    String message = large.get("error").get("message").asText();
    assertTrue(message.startsWith("line 11: ") && message.contains("--max-request-size"), message);
    byLine.values().forEach(n -> assertEquals("SUCCEEDED", n.get("state").asText(), n.toString()));
  }

  @Test
  void linesThatAreNotUtf8_areInvalidWithTheirNumbers_andEveryOtherLineRuns() throws Exception {
    Path jobs = dir.resolve("latin1.jsonl");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes("{\"id\": \"a\", \"handler\": \"echo\", \"input\": 1}\n".getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes(new byte[] {(byte) 0xff, (byte) 0xfe, '\n'});
    bytes.writeBytes("{\"id\": \"c\", \"handler\": \"echo\", \"input\": \"café\"}\n".getBytes(StandardCharsets.ISO_8859_1));
    bytes.writeBytes("{\"id\": \"d\", \"handler\": \"echo\", \"input\": \"café\"}\n".getBytes(StandardCharsets.UTF_8));
    Files.write(jobs, bytes.toByteArray());

    Cli.Result r = batch(jobs.toString());

    assertEquals(1, r.exitCode(), r.err());
    Map<Long, JsonNode> byLine = new HashMap<>();
    r.out().lines().map(Json::parse).forEach(n -> byLine.put(n.get("line").asLong(), n));
    assertEquals(4, byLine.size(), r.err());
    assertEquals("SUCCEEDED", byLine.get(1L).get("state").asText());
    for (long bad : new long[] {2, 3}) {
      JsonNode result = byLine.get(bad);
      assertEquals("INVALID", result.get("state").asText());
      assertEquals(Long.toString(bad), result.get("id").asText());
      assertTrue(result.get("error").get("message").asText().startsWith("line " + bad + " is not UTF-8"), result.toString());
    }
    assertEquals("\"café\"", Json.write(byLine.get(4L).get("output")));
  }

  @Test
  void ordered_writesResultsInInputOrder() throws Exception {
    Path jobs = dir.resolve("ordered.jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      // Early lines sleep longest, so completion order is roughly the reverse of input order.
      lines.add("{\"handler\": \"sleep\", \"input\": {\"ms\": " + (i < 10 ? 200 - i * 10 : 1) + "}}");
    }
    Files.write(jobs, lines);
    Cli.Result r = batch(jobs.toString(), "--ordered", "--max-in-flight", "16");
    assertEquals(0, r.exitCode(), r.err());
    List<Long> order = r.out().lines().map(l -> Json.parse(l).get("line").asLong()).toList();
    assertEquals(200, order.size());
    for (int i = 0; i < order.size(); i++) {
      assertEquals(i + 1, order.get(i));
    }
  }

  @Test
  void failFast_stopsAtTheFirstFailure() throws Exception {
    Path jobs = dir.resolve("failfast.jsonl");
    List<String> lines = new ArrayList<>(List.of("{\"handler\": \"is_prime\", \"input\": \"x\"}"));
    for (int i = 0; i < 500; i++) {
      lines.add("{\"handler\": \"sleep\", \"input\": {\"ms\": 20}}");
    }
    Files.write(jobs, lines);
    Cli.Result r = batch(jobs.toString(), "--fail-fast", "--max-in-flight", "4");
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.out().lines().count() < 500, "stopped early: " + r.out().lines().count() + " results");
  }

  @Test
  void resume_afterAnInterruptedBatch_givesExactlyOneSuccessPerId() throws Exception {
    Path jobs = dir.resolve("resume.jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      lines.add("{\"id\": \"r" + i + "\", \"handler\": \"sleep\", \"input\": {\"ms\": 100}}");
    }
    Files.write(jobs, lines);
    Path out = dir.resolve("resume.out");
    Process first = new ProcessBuilder(OffloadProcess.command(List.of(),
        "batch", jobs.toString(), "--output", out.toString(), "--server", service.target(), "--progress", "never"))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    Await.until("some results written", Duration.ofSeconds(30),
        () -> Files.exists(out) && lineCount(out) >= 10);
    Signals.send("INT", first.pid());
    assertTrue(first.waitFor(20, TimeUnit.SECONDS));
    assertEquals(130, first.exitValue());
    long before = lineCount(out);
    assertTrue(before >= 10 && before < 60, "interrupted midway: " + before + " results");

    Cli.Result second = batch(jobs.toString(), "--output", out.toString(), "--resume");
    assertEquals(0, second.exitCode(), second.err());
    Map<String, Integer> successes = new HashMap<>();
    for (JsonNode result : results(out)) {
      if (result.get("state").asText().equals("SUCCEEDED")) {
        successes.merge(result.get("id").asText(), 1, Integer::sum);
      }
    }
    assertEquals(60, successes.size());
    assertTrue(successes.values().stream().allMatch(n -> n == 1), successes.toString());
  }

  private static long lineCount(Path file) {
    try {
      return Files.readAllLines(file).size();
    } catch (IOException e) {
      return 0;
    }
  }
}
