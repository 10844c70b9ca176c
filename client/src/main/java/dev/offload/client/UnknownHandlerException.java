package dev.offload.client;

import java.util.List;

/**
 * The job names a handler the service does not have. {@link #knownHandlers()} lists those it has:
 * the name may be misspelt, or the handler's jar not given to the service ({@code offload serve
 * --handlers JAR}).
 */
public final class UnknownHandlerException extends JobRejectedException {

  private static final long serialVersionUID = 1L;

  /** The handler the job named. */
  private final String handler;
  /** The handlers the service has. */
  private final List<String> knownHandlers;

  UnknownHandlerException(String message, String handler, List<String> knownHandlers, Throwable cause) {
    super(message, cause);
    this.handler = handler;
    this.knownHandlers = List.copyOf(knownHandlers);
  }

  /**
   * The handler the job named.
   *
   * @return its name, as given
   */
  public String handler() {
    return handler;
  }

  /**
   * The handlers the service has.
   *
   * @return their names, as the service listed them; empty if the service did not send them
   */
  public List<String> knownHandlers() {
    return knownHandlers;
  }
}
