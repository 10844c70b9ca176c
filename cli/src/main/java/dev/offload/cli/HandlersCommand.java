package dev.offload.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.offload.proto.v1.HandlerInfo;
import dev.offload.client.OffloadClient;
import dev.offload.sdk.Json;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code offload handlers}: what jobs the service can run. */
@Command(name = "handlers", description = "List the handlers the service's workers can run.")
final class HandlersCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ServerOptions server;

  @Option(names = "--json", description = "Print a JSON array of {name, description, origin}.")
  boolean json;

  @Override
  public Integer call() {
    try (OffloadClient client = server.connect()) {
      List<HandlerInfo> handlers = client.wire().handlers();
      var out = spec.commandLine().getOut();
      if (json) {
        ArrayNode array = Json.mapper().createArrayNode();
        for (HandlerInfo h : handlers) {
          array.addObject().put("name", h.getName()).put("description", h.getDescription()).put("origin", h.getOrigin());
        }
        out.println(JobJson.pretty(array));
        out.flush();
        return ExitCodes.OK;
      }
      Table table = new Table("NAME", "ORIGIN", "DESCRIPTION");
      handlers.forEach(h -> table.row(h.getName(), h.getOrigin(), h.getDescription()));
      table.print(out);
      return ExitCodes.OK;
    }
  }
}
