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
import dev.offload.supervisor.client.BatchCall;
import dev.offload.supervisor.testing.Await;
import dev.offload.supervisor.testing.NoLeftoverProcesses;
import dev.offload.supervisor.testing.RunningService;
import dev.offload.worker.UnixSockets;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Hostile input, generated: every public rpc's fields filled with empty, huge, negative, unicode
 * and unknown values, duplicate ids and keys, and raw bytes thrown at the socket. Whatever comes
 * in, the service answers with a proper status (never INTERNAL or UNKNOWN), keeps serving, and
 * every job it accepted ends in exactly one terminal state.
 */
class HostileInputIT {

  /** Statuses a refusal of bad input may carry; anything else is a defect. */
  private static final Set<Status.Code> REFUSALS = Set.of(
      Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND, Status.Code.RESOURCE_EXHAUSTED);

  private static final Duration LIMIT = Duration.ofSeconds(30);

  /** Valid JSON, larger than the default input limit (4 MiB) but within the request limit. */
  private static final String OVER_THE_INPUT_LIMIT = "\"" + "x".repeat((4 << 20) + 10) + "\"";
  /** Larger than the default request limit (5 MiB). */
  private static final String OVER_THE_REQUEST_LIMIT = "\"" + "y".repeat(6 << 20) + "\"";

  private static Path dir;
  private static RunningService service;
  private static EventLoopGroup group;
  private static ManagedChannel channel;
  private static OffloadGrpc.OffloadBlockingStub stub;

  @BeforeContainer
  static void start() throws Exception {
    dir = Files.createTempDirectory("offload-hostile-");
    service = RunningService.start(RunningService.config(2), dir);
    group = UnixSockets.newEventLoopGroup(1, "test-io");
    channel = UnixSockets.channelBuilder(dir.resolve("offload.sock"), group).maxInboundMessageSize(Integer.MAX_VALUE).build();
    stub = OffloadGrpc.newBlockingStub(channel);
  }

  @AfterContainer
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    service.close();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    NoLeftoverProcesses.assertNoneLeft("HostileInputIT");
  }

  @Property(tries = 60)
  void submit_anyFields_refusedCleanlyOrAcceptedAndEnded(
      @ForAll("handlers") String handler, @ForAll("inputs") String input,
      @ForAll("longs") long timeoutMs, @ForAll("ints") int retries) throws Exception {
    SubmitJobRequest request = SubmitJobRequest.newBuilder()
        .setHandler(handler).setInputJson(input).setTimeoutMs(timeoutMs).setRetries(retries).build();
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

  @Property(tries = 40)
  void runJob_anyFields_refusedCleanlyOrFollowedToItsOneEnd(
      @ForAll("handlers") String handler, @ForAll("inputs") String input,
      @ForAll("longs") long timeoutMs, @ForAll("ints") int retries) {
    SubmitJobRequest request = SubmitJobRequest.newBuilder()
        .setHandler(handler).setInputJson(input).setTimeoutMs(timeoutMs).setRetries(retries).build();
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

  @Property(tries = 60)
  void jobIdRpcs_anyId_answerNotFoundOrTheJob(@ForAll("ids") String id) {
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

  @Property(tries = 30)
  void listJobs_anyStateNumber_answersOrRefuses(@ForAll("ints") int state) {
    try {
      stub.listJobs(ListJobsRequest.newBuilder().setStateValue(state).build());
    } catch (StatusRuntimeException e) {
      assertRefusal(e);
    }
    assertServing();
  }

  @Property(tries = 20)
  void shutdown_negativeGrace_isRefusedAndChangesNothing(@ForAll("negatives") long graceMs) {
    try {
      stub.shutdown(ShutdownRequest.newBuilder().setGraceMs(graceMs).build());
      fail("a negative grace was taken");
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    }
    assertServing();
  }

  @Property(tries = 15)
  void batch_duplicateAndOddKeys_oneResultPerRequest(@ForAll("batchKeys") List<String> keys) throws Exception {
    Map<String, Integer> results = new ConcurrentHashMap<>();
    AtomicReference<BatchCall> call = new AtomicReference<>();
    call.set(service.client().batch(16, (BatchResult result) -> {
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

  @Property(tries = 40)
  void rawBytesAtTheSocket_serviceKeepsServing(@ForAll("garbage") byte[] bytes) throws Exception {
    try (SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      socket.connect(UnixDomainSocketAddress.of(dir.resolve("offload.sock")));
      socket.write(ByteBuffer.wrap(bytes));
    } catch (IOException refusedMidway) {
      // The service may close a connection whose bytes make no sense: that is the point.
    }
    assertServing();
    assertEquals(JobState.SUCCEEDED, service.client().run(SubmitJobRequest.newBuilder().setHandler("echo").setInputJson("7").build(), e -> {}).getState());
  }

  @Provide
  Arbitrary<String> handlers() {
    return Arbitraries.oneOf(
        Arbitraries.of("echo", "is_prime", "sleep", "spin", "hash", "compress", "thumbnail", ""),
        Arbitraries.strings().all().ofMaxLength(300),
        Arbitraries.just("h".repeat(20_000)));
  }

  @Provide
  Arbitrary<String> inputs() {
    return Arbitraries.oneOf(
        Arbitraries.of("", "null", "1", "-1", "1e999", "{}", "[]", "\"\"", "{\"ms\": -5}", "{\"ms\": 1}", "{\"n\": 9999999999999917}",
            "99999999999999999999999999999", "{\"mode\": \"bogus\"}", "{", "\"\\ud800\"", "{\"a\":1}{\"b\":2}"),
        Arbitraries.strings().all().ofMaxLength(500),
        Arbitraries.strings().withChars('[', ']', '{', '}', '"', ',', ':', '1', 'e', '-').ofMaxLength(200),
        Arbitraries.just(OVER_THE_INPUT_LIMIT),
        Arbitraries.just(OVER_THE_REQUEST_LIMIT));
  }

  @Provide
  Arbitrary<Long> longs() {
    return Arbitraries.oneOf(Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L), Arbitraries.longs());
  }

  @Provide
  Arbitrary<Integer> ints() {
    return Arbitraries.oneOf(Arbitraries.of(0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 1, 2, 99), Arbitraries.integers());
  }

  @Provide
  Arbitrary<Long> negatives() {
    return Arbitraries.longs().between(Long.MIN_VALUE, -1);
  }

  @Provide
  Arbitrary<String> ids() {
    return Arbitraries.oneOf(
        Arbitraries.of("", "j-0", "j--1", "j-1", "j-99999999999", "J-1", "j-1 ", "../../etc/passwd", "\u0000", "日本"),
        Arbitraries.strings().all().ofMaxLength(200),
        Arbitraries.just("i".repeat(100_000)));
  }

  /**
   * Keys are text: any characters but lone surrogates, which are not text (protobuf strings are
   * UTF-8, and a lone surrogate cannot be encoded; it would arrive as '?').
   */
  @Provide
  Arbitrary<List<String>> batchKeys() {
    return Arbitraries.oneOf(
            Arbitraries.of("", "1", "k", "é", "\u0000", "\uD83D\uDE00"),
            Arbitraries.strings().withCharRange('\u0000', '\uD7FF').ofMaxLength(50))
        .list().ofMinSize(1).ofMaxSize(40);
  }

  @Provide
  Arbitrary<byte[]> garbage() {
    byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(4096);
    return Arbitraries.oneOf(
        random,
        random.map(tail -> concat(preface, tail)),
        random.map(tail -> concat(preface, concat(new byte[] {0, 0, 18, 4, 0, 0, 0, 0, 0}, tail))), // a SETTINGS header, then junk
        Arbitraries.integers().between(0, preface.length).map(n -> java.util.Arrays.copyOf(preface, n)));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
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
