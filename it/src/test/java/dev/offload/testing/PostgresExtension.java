package dev.offload.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One real PostgreSQL server per test class ({@link PostgresServer}): started before the class's
 * first test, stopped and removed after its last. Register it in a static field, after {@code
 * @ExtendWith(NoLeftoverProcesses.class)} on the class, so that the server is gone before that
 * extension looks for leftover processes (after-all callbacks run in reverse order):
 *
 * <pre>{@code
 * @ExtendWith(NoLeftoverProcesses.class)
 * class SomeIT {
 *   @RegisterExtension static final PostgresExtension postgres = new PostgresExtension();
 *   ... postgres.server().url() ...
 * }
 * }</pre>
 *
 * Its tests share the server and its database, so each should use tables (or a schema) of its
 * own, or clear what it made.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

  private PostgresServer server;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    PostgresServer made = PostgresServer.create();
    try {
      made.start();
    } catch (Exception e) {
      try {
        made.close();
      } catch (Exception closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
    server = made;
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    PostgresServer made = server;
    server = null;
    if (made != null) {
      made.close();
    }
  }

  /** The class's server, started. */
  public PostgresServer server() {
    if (server == null) {
      throw new IllegalStateException("no PostgreSQL server: PostgresExtension starts one before a test class's tests,"
          + " when it is registered with @RegisterExtension on a static field");
    }
    return server;
  }

  /** {@link PostgresServer#url()} of the class's server. */
  public String url() {
    return server().url();
  }

  /** {@link PostgresServer#jdbcUrl()} of the class's server. */
  public String jdbcUrl() {
    return server().jdbcUrl();
  }
}
