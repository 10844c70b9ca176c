package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * The digest of a file, as {@code sha256sum}, {@code sha512sum}, {@code sha1sum} and {@code md5sum}
 * print it. The file is read in chunks, so its size is bounded by the disk, not the heap.
 */
public final class HashHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public HashHandler() {}

  private static final String USAGE = "{\"path\": \"...\", \"algorithm\": \"sha256\"}";
  /** Our names, which the output repeats, to the JDK's. */
  private static final Map<String, String> ALGORITHMS =
      Map.of("sha256", "SHA-256", "sha512", "SHA-512", "sha1", "SHA-1", "md5", "MD5");

  @Override
  public String name() {
    return "hash";
  }

  @Override
  public String description() {
    return "Digest of a file; input " + USAGE + " with algorithm sha256 (default), sha512, sha1 or md5";
  }

  @Override
  public String run(String inputJson, JobContext context) throws Exception {
    JsonNode input = Inputs.object(inputJson, name(), USAGE);
    Path path = Inputs.requiredPath(input, "path", name());
    String algorithm = Inputs.optionalLowerCase(input, "algorithm", "sha256", name());
    MessageDigest digest = digest(algorithm);
    long expectedSize = Inputs.readableFile(path).size();

    long size = ChunkedReader.read(path, expectedSize, digest::update, context, "hashed");

    var output = Json.object();
    output.put("path", path.toString());
    output.put("algorithm", algorithm);
    output.put("digest", HexFormat.of().formatHex(digest.digest()));
    output.put("size", size);
    return Json.write(output);
  }

  private MessageDigest digest(String algorithm) throws NoSuchAlgorithmException {
    String jdkName = ALGORITHMS.get(algorithm);
    if (jdkName == null) {
      throw new IllegalArgumentException(
          name() + " knows the algorithms sha256, sha512, sha1 and md5, not '" + algorithm + "'");
    }
    return MessageDigest.getInstance(jdkName);
  }
}
