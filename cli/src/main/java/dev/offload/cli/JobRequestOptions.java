package dev.offload.cli;

import dev.offload.proto.v1.SubmitJobRequest;
import dev.offload.wire.IdempotencyKeys;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** What {@code run} and {@code submit} take to describe a job. */
final class JobRequestOptions {

  @Parameters(index = "0", paramLabel = "HANDLER", description = "The handler to run; 'offload handlers' lists them.")
  String handler;

  @Parameters(index = "1", arity = "0..1", paramLabel = "INPUT_JSON", description = "The job's input as JSON, for example 9999999999999917 or '{\"n\": 7}'.")
  String inputJson;

  @Option(names = "--input-file", paramLabel = "FILE|-", description = "Read the input JSON from a file, or from stdin with -.")
  String inputFile;

  @Mixin JobLimits limits;

  @Option(names = "--idempotency-key", paramLabel = "KEY",
      description = "Make the submission idempotent: if the service still holds a job submitted with KEY (queued, running,"
          + " or finished within serve --keep-finished), nothing new runs and this command follows that job. The same KEY"
          + " with another handler or input is refused. At most 200 bytes.")
  String idempotencyKey;

  /** The request these options describe; reads the input file if one was named. */
  SubmitJobRequest toRequest(InputStream stdin) {
    if (inputJson != null && inputFile != null) {
      throw new CliException(ExitCodes.USAGE, "give the input either as INPUT_JSON or with --input-file, not both");
    }
    var request = limits.applyTo(SubmitJobRequest.newBuilder()
        .setHandler(handler)
        .setInputJson(inputFile == null ? (inputJson == null ? "" : inputJson) : readInput(stdin)));
    if (idempotencyKey != null) {
      if (idempotencyKey.isEmpty()) {
        throw new CliException(ExitCodes.USAGE, "--idempotency-key must not be empty; leave it out for a job without one");
      }
      String problem = IdempotencyKeys.problem(idempotencyKey);
      if (problem != null) {
        throw new CliException(ExitCodes.USAGE, "--idempotency-key: " + problem);
      }
      request.setIdempotencyKey(idempotencyKey);
    }
    return request.build();
  }

  private String readInput(InputStream stdin) {
    try {
      return inputFile.equals("-")
          ? new String(stdin.readAllBytes(), StandardCharsets.UTF_8)
          : Files.readString(Path.of(inputFile));
    } catch (IOException e) {
      throw new CliException(ExitCodes.USAGE, "cannot read the input file " + inputFile + ": " + e.getMessage());
    }
  }
}
