package dev.offload.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Says what to do when a service refuses a request for its size: gRPC's own status for it reads
 * only "gRPC message exceeds maximum size N: M", and names no flag. The service cannot say more
 * itself: its transport refuses such a message before any of the service's code, interceptors
 * included, sees the call (grpc-java's {@code NettyServerStream.TransportState.deframeFailed}
 * writes the status straight to the stream). So the client rewrites that status, naming {@code
 * serve --max-request-size}; every other status passes unchanged.
 */
final class RequestSizeRefusal implements ClientInterceptor {

  private static final Pattern TOO_LARGE = Pattern.compile("gRPC message exceeds maximum size (\\d+): (\\d+)");

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<RespT> listener, Metadata headers) {
        super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
          @Override
          public void onClose(Status status, Metadata trailers) {
            super.onClose(explained(status), trailers);
          }
        }, headers);
      }
    };
  }

  /** The status, with a description that names the flag when it is gRPC's refusal of a large request. */
  static Status explained(Status status) {
    if (status.getCode() != Status.Code.RESOURCE_EXHAUSTED || status.getDescription() == null) {
      return status;
    }
    Matcher m = TOO_LARGE.matcher(status.getDescription());
    if (!m.find()) {
      return status;
    }
    return status.withDescription("the request is " + m.group(2) + " bytes, more than the " + m.group(1)
        + " bytes the service reads in one request; start the service with a larger --max-request-size (and"
        + " --max-input-size), or pass a file's path instead of its contents");
  }
}
