package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.zip.GZIPOutputStream;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/**
 * Compresses a file to gzip, xz or zstd, in the formats of the command-line tools of those names,
 * so that {@code gzip -d}, {@code xz -d} and {@code zstd -d} read the output. The file is streamed;
 * the output appears whole when the job succeeds and not at all when it fails or is cancelled.
 */
public final class CompressHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public CompressHandler() {}

  private static final String USAGE =
      "{\"path\": \"...\", \"format\": \"gzip\"|\"xz\"|\"zstd\", \"level\": N, \"output\": \"...\", \"overwrite\": false}";

  /** A compressed format: its name, the suffix its files take and the levels it has. */
  enum Format {
    GZIP("gzip", ".gz", 1, 9, 6) {
      @Override
      OutputStream compressor(OutputStream out, int level, long inputSize) throws IOException {
        return new GZIPOutputStream(out, ChunkedReader.BUFFER_SIZE) {
          {
            def.setLevel(level);
          }
        };
      }
    },
    XZ("xz", ".xz", 0, 9, 6) {
      @Override
      OutputStream compressor(OutputStream out, int level, long inputSize) throws IOException {
        return new XZOutputStream(out, xzOptions(level, inputSize));
      }
    },
    ZSTD("zstd", ".zst", 1, 19, 3) {
      @Override
      OutputStream compressor(OutputStream out, int level, long inputSize) throws IOException {
        ZstdOutputStreamNoFinalizer zstd;
        try {
          zstd = new ZstdOutputStreamNoFinalizer(out, level);
        } catch (LinkageError e) {
          throw new IllegalStateException(
              "zstd is not available in this worker: its native library did not load (" + e + ")", e);
        }
        // The zstd tool writes a checksum by default, and checks it when it decompresses.
        return zstd.setChecksum(true);
      }
    };

    final String id;
    final String suffix;
    final int minLevel;
    final int maxLevel;
    final int defaultLevel;

    Format(String id, String suffix, int minLevel, int maxLevel, int defaultLevel) {
      this.id = id;
      this.suffix = suffix;
      this.minLevel = minLevel;
      this.maxLevel = maxLevel;
      this.defaultLevel = defaultLevel;
    }

    /** A stream that compresses into {@code out} and closes it when closed. */
    abstract OutputStream compressor(OutputStream out, int level, long inputSize) throws IOException;

    static Format of(String id, String handler) {
      return Arrays.stream(values())
          .filter(f -> f.id.equals(id))
          .findFirst()
          .orElseThrow(
              () ->
                  new IllegalArgumentException(
                      handler + " knows the formats gzip, xz and zstd, not '" + id + "'"));
    }

    static String levels() {
      return Arrays.stream(values())
          .map(f -> f.id + " " + f.minLevel + "-" + f.maxLevel + " (default " + f.defaultLevel + ")")
          .collect(Collectors.joining(", "));
    }
  }

  @Override
  public String name() {
    return "compress";
  }

  @Override
  public String description() {
    return "Compresses a file; input " + USAGE + " with levels " + Format.levels()
        + "; output defaults to path + .gz, .xz or .zst";
  }

  @Override
  public String run(String inputJson, JobContext context) throws Exception {
    JsonNode input = Inputs.object(inputJson, name(), USAGE);
    Path path = Inputs.requiredPath(input, "path", name());
    long expectedSize = Inputs.readableFile(path).size();
    Format format = Format.of(Inputs.optionalLowerCase(input, "format", "gzip", name()), name());
    int level = Inputs.optionalInt(input, "level", format.defaultLevel, format.minLevel, format.maxLevel, name());
    Path output =
        Inputs.optionalPath(input, "output", name())
            .orElseGet(() -> path.resolveSibling(path.getFileName() + format.suffix));
    boolean overwrite = Inputs.optionalBoolean(input, "overwrite", false, name());
    Inputs.writableOutput(output, path, overwrite, name());

    long inputSize;
    try (AtomicOutput target = AtomicOutput.create(output, overwrite)) {
      try (OutputStream out =
          format.compressor(new BufferedOutputStream(target.stream(), ChunkedReader.BUFFER_SIZE), level, expectedSize)) {
        inputSize = ChunkedReader.read(path, expectedSize, out::write, context, "compressed");
      }
      context.checkCancelled();
      target.commit();
    }
    long outputSize = Files.size(output);

    var result = Json.object();
    result.put("path", path.toString());
    result.put("output", output.toString());
    result.put("format", format.id);
    result.put("level", level);
    result.put("input_size", inputSize);
    result.put("output_size", outputSize);
    result.put("ratio", inputSize == 0 ? 0.0 : (double) outputSize / inputSize);
    return Json.write(result);
  }

  /**
   * The options of an xz preset, with the dictionary no larger than the input needs (which
   * costs no compression and saves up to hundreds of MiB of heap on small files), refused if the
   * encoder would not fit in this worker's heap: running out of heap ends the worker.
   */
  static LZMA2Options xzOptions(int preset, long inputSize) throws IOException {
    LZMA2Options options = new LZMA2Options(preset);
    long needed = Math.max(LZMA2Options.DICT_SIZE_MIN, Long.highestOneBit(Math.max(1, inputSize - 1)) << 1);
    if (needed < options.getDictSize()) {
      options.setDictSize((int) needed);
    }
    long neededMiB = options.getEncoderMemoryUsage() / 1024L + 1;
    long budgetMiB = Runtime.getRuntime().maxMemory() / 4 * 3 >> 20;
    if (neededMiB > budgetMiB) {
      throw new IllegalArgumentException(
          "xz level " + preset + " needs about " + neededMiB + " MiB of heap for this file, and this"
              + " worker's heap allows about " + budgetMiB + " MiB; choose a lower level or give"
              + " workers more heap");
    }
    return options;
  }
}
