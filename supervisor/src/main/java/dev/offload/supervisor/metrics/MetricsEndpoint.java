package dev.offload.supervisor.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * {@code GET /metrics} in Prometheus's text format, on the JDK's own HTTP server: one endpoint
 * read every few seconds needs no web framework. Scrapes are answered on one virtual thread at a
 * time.
 */
public final class MetricsEndpoint implements AutoCloseable {

  private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;

  private MetricsEndpoint(HttpServer server) {
    this.server = server;
  }

  /**
   * Serves the metrics at {@code address}.
   *
   * @throws IOException if the address cannot be bound, with a message that says which
   */
  public static MetricsEndpoint start(InetSocketAddress address, ServiceMetrics metrics) throws IOException {
    HttpServer server;
    try {
      server = HttpServer.create(address, 16);
    } catch (IOException e) {
      throw new IOException("cannot serve metrics on " + address.getHostString() + ":" + address.getPort() + ": " + e.getMessage(), e);
    }
    server.setExecutor(Executors.newSingleThreadExecutor(Thread.ofVirtual().name("offload-metrics").factory()));
    server.createContext("/metrics", exchange -> answer(exchange, metrics));
    server.start();
    return new MetricsEndpoint(server);
  }

  /** The port it listens on (useful when it was asked for port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private static void answer(HttpExchange exchange, ServiceMetrics metrics) throws IOException {
    try (exchange) {
      if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
        exchange.getResponseHeaders().add("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", CONTENT_TYPE);
      boolean head = exchange.getRequestMethod().equals("HEAD");
      exchange.sendResponseHeaders(200, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }
}
