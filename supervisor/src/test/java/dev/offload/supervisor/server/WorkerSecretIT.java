package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offload.proto.v1.DescribeWorkerRequest;
import dev.offload.proto.v1.WorkerGrpc;
import dev.offload.supervisor.testing.NoLeftoverProcesses;
import dev.offload.supervisor.testing.RunningService;
import dev.offload.worker.UnixSockets;
import dev.offload.worker.WorkerSecret;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.EventLoopGroup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A worker's socket answers only the supervisor that started it: not a caller without its secret. */
@ExtendWith(NoLeftoverProcesses.class)
class WorkerSecretIT {

  @TempDir Path dir;
  RunningService service;
  EventLoopGroup group;

  @BeforeEach
  void start() throws Exception {
    service = RunningService.start(RunningService.config(1), dir);
    group = UnixSockets.newEventLoopGroup(1, "test-io");
  }

  @AfterEach
  void stop() throws Exception {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    service.close();
  }

  @Test
  void callWithoutTheSecret_isUnauthenticated() throws Exception {
    assertEquals(Status.Code.UNAUTHENTICATED, describeWith(null));
  }

  @Test
  void callWithAnotherSecret_isUnauthenticated() throws Exception {
    assertEquals(Status.Code.UNAUTHENTICATED, describeWith(WorkerSecret.generate()));
  }

  /** Calls DescribeWorker on the pool's worker socket, found on the worker's command line. */
  private Status.Code describeWith(String secret) throws Exception {
    long pid = service.supervisor().workerPids().getFirst();
    String socket = Arrays.stream(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).split("\0"))
        .filter(arg -> arg.startsWith("-Doffload.worker.socket="))
        .map(arg -> arg.substring("-Doffload.worker.socket=".length()))
        .findFirst().orElseThrow();
    var builder = UnixSockets.channelBuilder(Path.of(socket), group);
    if (secret != null) {
      Metadata headers = new Metadata();
      headers.put(WorkerSecret.HEADER, secret);
      builder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    ManagedChannel channel = builder.build();
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> WorkerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).describeWorker(DescribeWorkerRequest.getDefaultInstance()));
      return e.getStatus().getCode();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
