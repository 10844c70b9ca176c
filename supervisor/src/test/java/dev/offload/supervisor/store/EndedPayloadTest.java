package dev.offload.supervisor.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.proto.v1.JobState;
import dev.offload.wire.Utf8;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EndedPayloadTest {

  private static JobRecord end(long id, JobState state, String output, String code, String message) {
    return new JobRecord(id, "echo", state, "{\"in\":1}", output, code, message, 4242, 2, 1, 0, 0, 1_700_000_000_000L,
        1_700_000_000_123L, 123, 456);
  }

  @Test
  void encode_smallEnds_areCarried_withEveryFieldAFollowerIsTold() {
    JobRecord ok = end(7, JobState.SUCCEEDED, "{\"a\":\"x,y:z\\n\"}", "", "");
    JobRecord failed = end(8, JobState.FAILED, "", "BOOM", "line one\nline two: with, commas and ü€😀");
    List<String> payloads = EndedPayload.encode(List.of(ok, failed), new long[] {9});
    assertEquals(1, payloads.size());

    EndedPayload.Decoded decoded = EndedPayload.decode(payloads.getFirst());
    assertArrayEquals(new long[] {9}, decoded.idsToRead());
    assertEquals(2, decoded.ends().size());
    for (int i = 0; i < 2; i++) {
      JobRecord sent = List.of(ok, failed).get(i);
      JobRecord got = decoded.ends().get(i);
      assertEquals(sent.id(), got.id());
      assertEquals(sent.state(), got.state());
      assertEquals(sent.outputJson(), got.outputJson());
      assertEquals(sent.errorCode(), got.errorCode());
      assertEquals(sent.errorMessage(), got.errorMessage());
      assertEquals(sent.workerPid(), got.workerPid());
      assertEquals(sent.attempts(), got.attempts());
      assertEquals(sent.startedAtMs(), got.startedAtMs());
      assertEquals(sent.queuedMs(), got.queuedMs());
      assertEquals(sent.runMs(), got.runMs());
      assertTrue(got.finished());
    }
  }

  @Test
  void encode_largeEnd_goesAsItsIdToBeRead() {
    JobRecord large = end(1, JobState.SUCCEEDED, "\"" + "é".repeat(EndedPayload.MAX_CARRIED_BYTES) + "\"", "", "");
    JobRecord small = end(3, JobState.SUCCEEDED, "1", "", "");
    List<String> payloads = EndedPayload.encode(List.of(large, small), new long[0]);
    assertEquals(1, payloads.size());
    EndedPayload.Decoded decoded = EndedPayload.decode(payloads.getFirst());
    assertArrayEquals(new long[] {1}, decoded.idsToRead());
    assertEquals(List.of(3L), decoded.ends().stream().map(JobRecord::id).toList());
  }

  @Test
  void encode_controlCharacters_areEscaped_soThePayloadHoldsNoNul() {
    JobRecord nul = end(2, JobState.FAILED, "", "X", "a\0b\u0001c");
    String payload = EndedPayload.encode(List.of(nul), new long[0]).getFirst();
    assertTrue(payload.indexOf('\0') < 0, payload);
    assertEquals("a\0b\u0001c", EndedPayload.decode(payload).ends().getFirst().errorMessage());
  }

  @Test
  void encode_manyEnds_splitIntoPayloadsBelowPostgresqlsLimit_losingNone() {
    List<JobRecord> ends = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      ends.add(end(1000 + i, JobState.SUCCEEDED, "\"" + "o".repeat(i % 300) + "\"", "", ""));
    }
    long[] ids = new long[3000];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 1_000_000_000L + i;
    }
    List<String> payloads = EndedPayload.encode(ends, ids);
    assertTrue(payloads.size() > 1);
    List<Long> carried = new ArrayList<>();
    List<Long> toRead = new ArrayList<>();
    for (String payload : payloads) {
      assertTrue(Utf8.length(payload) <= EndedPayload.MAX_BYTES, "a payload of " + Utf8.length(payload) + " bytes");
      EndedPayload.Decoded d = EndedPayload.decode(payload);
      d.ends().forEach(e -> carried.add(e.id()));
      for (long id : d.idsToRead()) {
        toRead.add(id);
      }
    }
    assertEquals(ends.stream().map(JobRecord::id).toList(), carried);
    assertEquals(ids.length, toRead.size());
  }

  @Test
  void decode_idsOnly_asAnOlderServiceSendsThem_andAsAnArray() {
    assertArrayEquals(new long[] {12, 13}, EndedPayload.decode("[12,13]").idsToRead());
    EndedPayload.Decoded decoded = EndedPayload.decode("12,13,14");
    assertArrayEquals(new long[] {12, 13, 14}, decoded.idsToRead());
    assertTrue(decoded.ends().isEmpty());
  }

  @Test
  void decode_truncatedPayload_isRefused_sayingWhere() {
    String payload = EndedPayload.encode(List.of(end(5, JobState.SUCCEEDED, "\"long enough\"", "", "")), new long[0]).getFirst();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EndedPayload.decode(payload.substring(0, payload.length() - 8)));
    assertTrue(e.getMessage().contains("offload_ended payload"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> EndedPayload.decode("12,x"));
    assertThrows(IllegalArgumentException.class, () -> EndedPayload.decode("[\"12\"]"));
    assertThrows(IllegalArgumentException.class, () -> EndedPayload.decode("[{\"id\": 1}]"));
  }
}
