package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.offload.proto.v1.BatchResult;
import dev.offload.proto.v1.CancelJobRequest;
import dev.offload.proto.v1.GetJobRequest;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobEvent;
import dev.offload.proto.v1.JobState;
import dev.offload.proto.v1.ListJobsRequest;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.ShutdownRequest;
import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.proto.v1.WatchJobRequest;
import dev.offload.client.BatchCall;
import dev.offload.testing.Await;
import dev.offload.testing.Generator;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import dev.offload.testing.TestSeed;
import dev.offload.testing.Tries;
import dev.offload.wire.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input, generated: every public rpc's fields filled with empty, huge, negative, unicode
 * and unknown values, duplicate ids and keys, and raw bytes thrown at the socket. Whatever comes
 * in, the service answers with a proper status (never INTERNAL or UNKNOWN), keeps serving, and
 * every job it accepted ends in exactly one terminal state.
 *
 * <p>Each property runs a fixed number of tries ({@link Tries}): first every edge case of its
 * generators, then random values from the run's {@link TestSeed}; a failure names the seed and
 * the try, and {@code -Doffload.test.seed=N} reruns the same values.
 */
@ExtendWith({NoLeftoverProcesses.class, TestSeed.class})
class HostileInputIT {

  /** Statuses a refusal of bad input may carry; anything else is a defect. */
  private static final Set<Status.Code> REFUSALS = Set.of(
      Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND, Status.Code.RESOURCE_EXHAUSTED);

  private static final Duration LIMIT = Duration.ofSeconds(30);

  /** Valid JSON, larger than the default input limit (4 MiB) but within the request limit. */
  private static final String OVER_THE_INPUT_LIMIT = "\"" + "x".repeat((4 << 20) + 10) + "\"";
  /** Larger than the default request limit (5 MiB). */
  private static final String OVER_THE_REQUEST_LIMIT = "\"" + "y".repeat(6 << 20) + "\"";

  private static final Generator<String> HANDLERS = Generator.oneOf(
      Generator.of("echo", "is_prime", "sleep", "spin", "hash", "compress", "thumbnail", ""),
      Generator.anyStrings(300),
      Generator.of("h".repeat(20_000)));

  private static final Generator<String> INPUTS = Generator.oneOf(
      Generator.of("", "null", "1", "-1", "1e999", "{}", "[]", "\"\"", "{\"ms\": -5}", "{\"ms\": 1}", "{\"n\": 9999999999999917}",
          "99999999999999999999999999999", "{\"mode\": \"bogus\"}", "{", "\"\\ud800\"", "{\"a\":1}{\"b\":2}"),
      Generator.anyStrings(500),
      Generator.strings("[]{}\",:1e-", 200),
      Generator.of(OVER_THE_INPUT_LIMIT),
      Generator.of(OVER_THE_REQUEST_LIMIT));

  private static final Generator<Long> LONGS = Generator.oneOf(
      Generator.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L), Generator.longs(Long.MIN_VALUE, Long.MAX_VALUE));

  private static final Generator<Integer> INTS = Generator.oneOf(
      Generator.of(0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 1, 2, 99), Generator.ints(Integer.MIN_VALUE, Integer.MAX_VALUE));

  private static final Generator<Long> NEGATIVES = Generator.longs(Long.MIN_VALUE, -1);

  private static final Generator<String> IDS = Generator.oneOf(
      Generator.of("", "j-0", "j--1", "j-1", "j-99999999999", "J-1", "j-1 ", "../../etc/passwd", "\u0000", "日本"),
      Generator.anyStrings(200),
      Generator.of("i".repeat(100_000)));

  /**
   * Keys are text: any characters but lone surrogates, which are not text (protobuf strings are
   * UTF-8, and a lone surrogate cannot be encoded; it would arrive as '?').
   */
  private static final Generator<List<String>> BATCH_KEYS = Generator.<String>oneOf(
          Generator.of("", "1", "k", "é", "\u0000", "\uD83D\uDE00"),
          Generator.strings('\u0000', '\uD7FF', 50))
      .lists(1, 40);

  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SETTINGS_HEADER = {0, 0, 18, 4, 0, 0, 0, 0, 0};

  /** Random bytes, alone or after the HTTP/2 preface (and a SETTINGS header), and cut prefaces. */
  private static final Generator<byte[]> GARBAGE = Generator.oneOf(
      Generator.bytes(4096),
      Generator.bytes(4096).map(tail -> concat(PREFACE, tail)),
      Generator.bytes(4096).map(tail -> concat(PREFACE, concat(SETTINGS_HEADER, tail))),
      Generator.ints(0, PREFACE.length).map(n -> Arrays.copyOf(PREFACE, n)));

  @TempDir static Path dir;
  private static RunningService service;
  private static EventLoopGroup group;
  private static ManagedChannel channel;
  private static OffloadGrpc.OffloadBlockingStub stub;

  @BeforeAll
  static void start() throws Exception {
    service = RunningService.start(RunningService.config(2), dir);
    group = UnixSockets.newEventLoopGroup(1, "test-io");
    channel = UnixSockets.channelBuilder(dir.resolve("offload.sock"), group).maxInboundMessageSize(Integer.MAX_VALUE).build();
    stub = OffloadGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    service.close();
  }

  static Stream<Arguments> anySubmits() {
    return Tries.of("anySubmits", 60, HANDLERS, INPUTS, LONGS, INTS, LONGS);
  }

  @ParameterizedTest
  @MethodSource("anySubmits")
  void submit_anyFields_refusedCleanlyOrAcceptedAndEnded(String handler, String input, long timeoutMs, int retries,
      long deadlineMs) throws Exception {
    SubmitJobRequest request = SubmitJobRequest.newBuilder()
        .setHandler(handler).setInputJson(input).setTimeoutMs(timeoutMs).setRetries(retries).setDeadlineMs(deadlineMs).build();
    Job accepted;
    try {
      accepted = stub.withDeadlineAfter(10, TimeUnit.SECONDS).submitJob(request).getJob();
    } catch (StatusRuntimeException e) {
      assertRefusal(e);
      assertServing();
      return;
    }
    // Accepted: it must end, exactly once; cancel it so that a long one (a big prime) ends soon.
    stub.cancelJob(CancelJobRequest.newBuilder().setJobId(accepted.getId()).build());
    assertEnds(accepted.getId());
  }

  static Stream<Arguments> anyRuns() {
    return Tries.of("anyRuns", 40, HANDLERS, INPUTS, LONGS, INTS, LONGS);
  }

  @ParameterizedTest
  @MethodSource("anyRuns")
  void runJob_anyFields_refusedCleanlyOrFollowedToItsOneEnd(String handler, String input, long timeoutMs, int retries,
      long deadlineMs) {
    SubmitJobRequest request = SubmitJobRequest.newBuilder()
        .setHandler(handler).setInputJson(input).setTimeoutMs(timeoutMs).setRetries(retries).setDeadlineMs(deadlineMs).build();
    List<Job> seen = new ArrayList<>();
    Iterator<JobEvent> events = stub.withDeadlineAfter(LIMIT.toSeconds(), TimeUnit.SECONDS).runJob(request);
    while (true) {
      JobEvent event;
      try {
        if (!events.hasNext()) {
          break;
        }
        event = events.next();
      } catch (StatusRuntimeException e) {
        assertTrue(seen.isEmpty(), "the stream of accepted job " + (seen.isEmpty() ? "" : seen.getFirst().getId()) + " failed: " + e.getStatus());
        assertRefusal(e);
        assertServing();
        return;
      }
      if (!event.hasJob()) {
        continue; // progress
      }
      if (seen.isEmpty()) {
        // Accepted: cancel it so that a long one (a big prime, a long sleep) ends soon.
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).cancelJob(CancelJobRequest.newBuilder().setJobId(event.getJob().getId()).build());
      }
      seen.add(event.getJob());
    }
    assertFalse(seen.isEmpty(), "the stream ended without a word of its job");
    List<JobState> states = seen.stream().map(Job::getState).toList();
    assertEquals(1, states.stream().filter(dev.offload.supervisor.job.Job::isTerminal).count(), "one terminal state: " + states);
    assertTrue(dev.offload.supervisor.job.Job.isTerminal(states.getLast()), "the stream ends with the job's end: " + states);
  }

  static Stream<Arguments> anyIds() {
    return Tries.of("anyIds", 60, IDS);
  }

  @ParameterizedTest
  @MethodSource("anyIds")
  void jobIdRpcs_anyId_answerNotFoundOrTheJob(String id) {
    for (Runnable call : List.<Runnable>of(
        () -> stub.getJob(GetJobRequest.newBuilder().setJobId(id).build()),
        () -> stub.cancelJob(CancelJobRequest.newBuilder().setJobId(id).build()),
        () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).watchJob(WatchJobRequest.newBuilder().setJobId(id).build()).forEachRemaining(e -> {}))) {
      try {
        call.run();
      } catch (StatusRuntimeException e) {
        assertRefusal(e);
      }
    }
    assertServing();
  }

  static Stream<Arguments> anyStateNumbers() {
    return Tries.of("anyStateNumbers", 30, INTS);
  }

  @ParameterizedTest
  @MethodSource("anyStateNumbers")
  void listJobs_anyStateNumber_answersOrRefuses(int state) {
    try {
      stub.listJobs(ListJobsRequest.newBuilder().setStateValue(state).build());
    } catch (StatusRuntimeException e) {
      assertRefusal(e);
    }
    assertServing();
  }

  static Stream<Arguments> negativeGraces() {
    return Tries.of("negativeGraces", 20, NEGATIVES);
  }

  @ParameterizedTest
  @MethodSource("negativeGraces")
  void shutdown_negativeGrace_isRefusedAndChangesNothing(long graceMs) {
    try {
      stub.shutdown(ShutdownRequest.newBuilder().setGraceMs(graceMs).build());
      fail("a negative grace was taken");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    }
    assertServing();
  }

  static Stream<Arguments> batchKeys() {
    return Tries.of("batchKeys", 15, BATCH_KEYS);
  }

  @ParameterizedTest
  @MethodSource("batchKeys")
  void batch_duplicateAndOddKeys_oneResultPerRequest(List<String> keys) throws Exception {
    Map<String, Integer> results = new ConcurrentHashMap<>();
    AtomicReference<BatchCall> call = new AtomicReference<>();
    call.set(service.client().wire().batch(16, (BatchResult result) -> {
      results.merge(result.getKey(), 1, Integer::sum);
      call.get().release();
    }));
    for (String key : keys) {
      call.get().acquire();
      call.get().send(key, SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("1").build());
    }
    call.get().finish();
    call.get().await();

    Map<String, Integer> expected = new ConcurrentHashMap<>();
    keys.forEach(k -> expected.merge(k, 1, Integer::sum));
    assertEquals(expected, results);
  }

  static Stream<Arguments> garbage() {
    return Tries.of("garbage", 40, GARBAGE);
  }

  @ParameterizedTest
  @MethodSource("garbage")
  void rawBytesAtTheSocket_serviceKeepsServing(byte[] bytes) throws Exception {
    try (SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      socket.connect(UnixDomainSocketAddress.of(dir.resolve("offload.sock")));
      socket.write(ByteBuffer.wrap(bytes));
    } catch (IOException refusedMidway) {
      // The service may close a connection whose bytes make no sense: that is the point.
    }
    assertServing();
    assertEquals(JobState.SUCCEEDED, service.client().wire().run(SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("7").build(), e -> {}).getState());
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  private static void assertRefusal(StatusRuntimeException e) {
    assertTrue(REFUSALS.contains(e.getStatus().getCode()), "an improper answer to bad input: " + e.getStatus());
    String description = e.getStatus().getDescription();
    assertTrue(description != null && !description.isBlank(), "a refusal without a message: " + e.getStatus());
  }

  private static void assertServing() {
    assertEquals(2, stub.withDeadlineAfter(10, TimeUnit.SECONDS).getPoolStatus(dev.offload.proto.v1.GetPoolStatusRequest.getDefaultInstance()).getWorkersCount());
  }

  private static void assertEnds(String id) throws InterruptedException {
    List<Job> end = new ArrayList<>();
    Await.until(id + " to end", LIMIT, () -> {
      Job job = stub.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob();
      if (dev.offload.supervisor.job.Job.isTerminal(job.getState())) {
        end.add(job);
        return true;
      }
      return false;
    });
    assertTrue(dev.offload.supervisor.job.Job.isTerminal(end.getFirst().getState()));
  }
}
