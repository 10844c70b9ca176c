package dev.offload.supervisor.server;

import dev.offload.client.ServerTarget;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.client.OffloadClient;
import dev.offload.client.ClientCredentials;
import dev.offload.supervisor.security.ServerSecurity;
import dev.offload.testing.Cli;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import dev.offload.proto.v1.OffloadGrpc;
import dev.offload.proto.v1.GetPoolStatusRequest;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service on TCP with a token and TLS: the right token over TLS gets in; no token, a wrong one,
 * or no CA do not; an address other than loopback needs a token; the CLI takes --token-file and
 * --tls-ca and says what is wrong. And no request can make a service load code.
 */
@ExtendWith(NoLeftoverProcesses.class)
class SecurityIT {

  private static final String TOKEN = "s3cret-token-for-the-test";

  @TempDir static Path dir;
  static RunningService service;
  static OffloadServer tlsServer;
  static ServerTarget.Tcp target;
  static Path ca;
  static Path tokenFile;
  static int healthOnlyPort;

  @BeforeAll
  static void start() throws Exception {
    X509Bundle root = new CertificateBuilder().subject("CN=offload test CA").setIsCertificateAuthority(true).ecp256().buildSelfSigned();
    X509Bundle server = new CertificateBuilder().subject("CN=localhost").addSanDnsName("localhost").addSanIpAddress("127.0.0.1")
        .ecp256().buildIssuedBy(root);
    ca = write("ca.pem", root.getCertificatePEM());
    Path cert = write("cert.pem", server.getCertificatePathPEM());
    Path key = write("key.pem", server.getPrivateKeyPEM());
    tokenFile = write("token", TOKEN + "\n");
    Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-------"));

    service = RunningService.start(RunningService.config(1), dir);
    target = new ServerTarget.Tcp("127.0.0.1", freePort());
    tlsServer = OffloadServer.start(target, service.supervisor(), new ServerSecurity(TOKEN, cert, key));
    healthOnlyPort = tlsServer.serveHealthOnly(new InetSocketAddress("127.0.0.1", 0));
  }

  @AfterAll
  static void stop() throws Exception {
    tlsServer.shutdown(); // stops taking calls; its connections end with the I/O thread, which service.close() ends last
    service.close();
  }

  @Test
  void rightTokenOverTls_getsIn() {
    try (OffloadClient client = OffloadClient.connect(target, new ClientCredentials(TOKEN, ca))) {
      assertEquals(1, client.wire().poolStatus().getWorkersCount());
    }
  }

  @Test
  void noTokenOrAWrongOne_isUnauthenticated() {
    for (String token : new String[] {null, "not-the-token"}) {
      try (OffloadClient client = OffloadClient.connect(target, new ClientCredentials(token, ca))) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, client.wire()::poolStatus);
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("--token-file"), e.getStatus().getDescription());
      }
    }
  }

  @Test
  void healthCheckWithoutToken_answers_butEveryOtherCallWithoutTokenIsRefused() throws Exception {
    ChannelCredentials tls = TlsChannelCredentials.newBuilder().trustManager(ca.toFile()).build();
    // The channel's authority must match the certificate's name: localhost, as clients of the service use it.
    withChannel(Grpc.newChannelBuilderForAddress("localhost", target.port(), tls).build(), channel -> {
      HealthCheckResponse.ServingStatus overall = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance()).getStatus();
      assertEquals(HealthCheckResponse.ServingStatus.SERVING, overall);
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> OffloadGrpc.newBlockingStub(channel).getPoolStatus(GetPoolStatusRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
      StatusRuntimeException watch = assertThrows(StatusRuntimeException.class,
          () -> HealthGrpc.newBlockingStub(channel).watch(HealthCheckRequest.getDefaultInstance()).hasNext());
      assertEquals(Status.Code.UNAUTHENTICATED, watch.getStatus().getCode());
      return null;
    });
  }

  @Test
  void healthOnlyListener_answersHealthInPlaintextWithoutToken_andNothingElse() throws Exception {
    withChannel(Grpc.newChannelBuilderForAddress("127.0.0.1", healthOnlyPort, InsecureChannelCredentials.create()).build(), channel -> {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
      assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
      assertEquals(HealthCheckResponse.ServingStatus.SERVING,
          health.check(HealthCheckRequest.newBuilder().setService(OffloadGrpc.SERVICE_NAME).build()).getStatus());
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> OffloadGrpc.newBlockingStub(channel).getPoolStatus(GetPoolStatusRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
      return null;
    });
  }

  @Test
  void serve_healthTakesOnlyHostAndPort() throws IOException {
    Cli.Result r = Cli.run("serve", "--listen", "127.0.0.1:" + freePort(), "--health", "unix:/tmp/h.sock");

    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("--health takes HOST:PORT"), r.err());
  }

  @Test
  void plaintextClientAgainstTls_doesNotGetIn() {
    try (OffloadClient client = OffloadClient.connect(target, new ClientCredentials(TOKEN, null))) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> client.wire().poolStatus());
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
    }
  }

  @Test
  void notLoopbackWithoutAToken_isRefused() {
    IOException e = assertThrows(IOException.class,
        () -> OffloadServer.start(new ServerTarget.Tcp("0.0.0.0", freePort()), service.supervisor(), ServerSecurity.none()));
    assertTrue(e.getMessage().contains("--token-file"), e.getMessage());
  }

  @Test
  void cli_takesTokenFileAndCa_andExplainsAMissingToken() {
    Cli.Result ok = Cli.run("stats", "--server", target.toString(), "--token-file", tokenFile.toString(), "--tls-ca", ca.toString());
    assertEquals(0, ok.exitCode(), ok.err());

    Cli.Result refused = Cli.run("stats", "--server", target.toString(), "--tls-ca", ca.toString());
    assertEquals(2, refused.exitCode(), refused.err());
    assertTrue(refused.err().contains("--token-file"), refused.err());
  }

  @Test
  void aRequestCannotLoadCode_aClassNameIsAnUnknownHandler() {
    for (String name : new String[] {"dev.offload.worker.handlers.EchoHandler", "java.lang.Runtime", "file:/tmp/evil.jar"}) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> service.client().wire().submit(dev.offload.proto.v1.SubmitJobRequest.newBuilder().setHandler(name).setInputJson("1").build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().startsWith("unknown handler"), e.getStatus().getDescription());
    }
  }

  @Test
  void serve_notLoopbackWithoutAToken_isAUsageErrorBeforeAnyWorkerStarts() throws Exception {
    Cli.Result r = Cli.run("serve", "--listen", "0.0.0.0:" + freePort());

    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("--token-file"), r.err());
  }

  @Test
  void serve_refusesATokenFileOthersCanRead() throws Exception {
    Path open = write("open-token", TOKEN);
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));

    Cli.Result r = Cli.run("serve", "--listen", "127.0.0.1:" + freePort(), "--token-file", open.toString());

    assertEquals(2, r.exitCode(), r.err());
    assertTrue(r.err().contains("chmod 600"), r.err());
  }

  @Test
  void aTokenShorterThan22Characters_isRefusedByServeAndClients_sayingHowToMakeOne() throws Exception {
    Path shortToken = write("short-token", "x".repeat(21) + "\n");
    Files.setPosixFilePermissions(shortToken, PosixFilePermissions.fromString("rw-------"));
    // A socket in a directory others can write to is refused too, but only after the token is read:
    // a service that took the short token could not start here either.
    Path open = Files.createDirectories(dir.resolve("open-for-short-token"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));

    Cli.Result serve = Cli.run("serve", "--listen", "unix:" + open.resolve("s.sock"), "--token-file", shortToken.toString());
    Cli.Result client = Cli.run("stats", "--server", target.toString(), "--token-file", shortToken.toString(), "--tls-ca", ca.toString());

    for (Cli.Result refused : new Cli.Result[] {serve, client}) {
      assertEquals(2, refused.exitCode(), refused.err());
      assertTrue(refused.err().contains(shortToken.toString()) && refused.err().contains("at least 22"), refused.err());
      assertTrue(refused.err().contains("openssl rand -base64 24"), refused.err());
    }
  }

  private static <T> T withChannel(ManagedChannel channel, Function<ManagedChannel, T> use) throws InterruptedException {
    try {
      return use.apply(channel);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Path write(String name, String text) throws IOException {
    return Files.writeString(dir.resolve(name), text);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
