package dev.offload.worker.handlers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.offload.sdk.JobContext;
import dev.offload.sdk.JobHandler;
import dev.offload.sdk.Json;
import java.awt.AlphaComposite;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.IIOException;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Scales a PNG or JPEG image to a given width, keeping its aspect ratio, and writes it as PNG or
 * JPEG as the output's extension says. Downscaling halves the image with bilinear filtering while
 * it is more than twice the target, then takes the last step bicubic, so every source pixel counts
 * (one bilinear step from far above would sample a few and alias).
 */
public final class ThumbnailHandler implements JobHandler {

  /** Creates the handler; {@link java.util.ServiceLoader} calls it. */
  public ThumbnailHandler() {}

  static {
    // A worker has no display, and AWT must not look for one; set before any AWT class loads.
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private static final String USAGE =
      "{\"path\": \"...\", \"width\": W, \"output\": \"...\", \"overwrite\": false}";
  /** The longest side a thumbnail may have, in pixels. */
  static final int MAX_SIDE = 16384;
  private static final float JPEG_QUALITY = 0.9f;

  @Override
  public String name() {
    return "thumbnail";
  }

  @Override
  public String description() {
    return "Scales a PNG or JPEG to a width, keeping its aspect ratio; input " + USAGE
        + "; output defaults to NAME-Ww.EXT beside the input, .png or .jpg";
  }

  @Override
  public String run(String inputJson, JobContext context) throws Exception {
    JsonNode input = Inputs.object(inputJson, name(), USAGE);
    Path path = Inputs.requiredPath(input, "path", name());
    int width = Inputs.requiredInt(input, "width", 1, MAX_SIDE, name());
    boolean overwrite = Inputs.optionalBoolean(input, "overwrite", false, name());
    Inputs.readableFile(path);

    try (ImageSource source = ImageSource.open(path)) {
      int sourceWidth = source.width();
      int sourceHeight = source.height();
      long height = Math.max(1, Math.round((double) sourceHeight * width / sourceWidth));
      if (height > MAX_SIDE) {
        throw new IllegalArgumentException(
            "a " + width + " pixel wide thumbnail of the " + sourceWidth + "x" + sourceHeight
                + " image " + path + " would be " + height + " pixels high; sides may be at most "
                + MAX_SIDE);
      }
      checkHeap(path, sourceWidth, sourceHeight, width, height);
      Path output =
          Inputs.optionalPath(input, "output", name())
              .orElseGet(() -> defaultOutput(path, width, source.format()));
      String format = outputFormat(output);
      Inputs.writableOutput(output, path, overwrite, name());

      context.reportProgress(0.0, "decoding " + sourceWidth + "x" + sourceHeight + " " + source.format());
      BufferedImage image = source.decode();
      context.checkCancelled();
      context.reportProgress(0.5, "scaling to " + width + "x" + height);
      BufferedImage thumbnail = scale(image, width, (int) height, format.equals("png"), context);
      context.reportProgress(0.9, "writing " + output.getFileName());
      write(thumbnail, format, output, overwrite, context);

      var result = Json.object();
      result.put("path", path.toString());
      result.put("output", output.toString());
      result.put("width", thumbnail.getWidth());
      result.put("height", thumbnail.getHeight());
      result.put("source_width", sourceWidth);
      result.put("source_height", sourceHeight);
      result.put("format", format);
      return Json.write(result);
    }
  }

  /**
   * Scales an image, halving it bilinearly while that stays at or above the target size, then
   * bicubically to exactly {@code width} x {@code height}.
   *
   * @param keepAlpha whether transparency survives; without it, transparent pixels become white
   */
  static BufferedImage scale(BufferedImage source, int width, int height, boolean keepAlpha, JobContext context) {
    boolean alpha = keepAlpha && source.getColorModel().hasAlpha();
    BufferedImage current = source;
    int w = source.getWidth();
    int h = source.getHeight();
    while (w / 2 >= width && h / 2 >= height) {
      w /= 2;
      h /= 2;
      // Premultiplied between steps, so that transparent pixels' colours do not bleed into edges.
      current = draw(current, w, h, alpha ? BufferedImage.TYPE_INT_ARGB_PRE : BufferedImage.TYPE_INT_RGB,
          RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      context.checkCancelled();
    }
    return draw(current, width, height, alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB,
        RenderingHints.VALUE_INTERPOLATION_BICUBIC);
  }

  private static BufferedImage draw(BufferedImage source, int width, int height, int type, Object interpolation) {
    BufferedImage target = new BufferedImage(width, height, type);
    Graphics2D g = target.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, interpolation);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.setRenderingHint(RenderingHints.KEY_ALPHA_INTERPOLATION, RenderingHints.VALUE_ALPHA_INTERPOLATION_QUALITY);
      if (target.getColorModel().hasAlpha()) {
        g.setComposite(AlphaComposite.Src);
      } else {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
      }
      g.drawImage(source, 0, 0, width, height, null);
    } finally {
      g.dispose();
    }
    return target;
  }

  private static void write(BufferedImage image, String format, Path output, boolean overwrite, JobContext context)
      throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
    try (AtomicOutput target = AtomicOutput.create(output, overwrite)) {
      ImageWriteParam param = writer.getDefaultWriteParam();
      if (format.equals("jpeg")) {
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(JPEG_QUALITY);
      }
      // A memory cache, not ImageIO's default of a cache file in java.io.tmpdir.
      try (OutputStream out = target.stream();
          ImageOutputStream images = new MemoryCacheImageOutputStream(out)) {
        writer.setOutput(images);
        writer.write(null, new IIOImage(image, null, null), param);
      }
      context.checkCancelled();
      target.commit();
    } finally {
      writer.dispose();
    }
  }

  /**
   * Refuses an image whose pixels would not fit in this worker's heap: running out of heap ends
   * the worker, while this fails only the job. The estimate is four bytes a pixel for the decoded
   * image, its first halving and the thumbnail.
   */
  private static void checkHeap(Path path, int sourceWidth, int sourceHeight, int width, long height) {
    long sourcePixels = (long) sourceWidth * sourceHeight;
    long neededMiB = (sourcePixels * 5 + width * height * 4 >> 20) + 1;
    long budgetMiB = Runtime.getRuntime().maxMemory() / 4 * 3 >> 20;
    if (neededMiB > budgetMiB) {
      throw new IllegalArgumentException(
          path + " is " + sourceWidth + "x" + sourceHeight + " pixels; scaling it needs about "
              + neededMiB + " MiB of heap, and this worker's heap allows about " + budgetMiB
              + " MiB; give workers more heap");
    }
  }

  /** {@code NAME-Ww.EXT} beside the input: its own extension if it has an image one. */
  static Path defaultOutput(Path input, int width, String sourceFormat) {
    String file = input.getFileName().toString();
    int dot = file.lastIndexOf('.');
    String base = file;
    String extension = sourceFormat.equals("jpeg") ? "jpg" : "png";
    if (dot > 0) {
      String own = file.substring(dot + 1);
      if (formatOfExtension(own) != null) {
        base = file.substring(0, dot);
        extension = own;
      }
    }
    return input.resolveSibling(base + "-" + width + "w." + extension);
  }

  /** The format to write, from the output's extension. */
  private static String outputFormat(Path output) {
    String file = output.getFileName().toString();
    int dot = file.lastIndexOf('.');
    String format = dot < 0 ? null : formatOfExtension(file.substring(dot + 1));
    if (format == null) {
      throw new IllegalArgumentException(
          "thumbnail writes .png, .jpg or .jpeg files, and the output " + output
              + " has none of those extensions");
    }
    return format;
  }

  private static String formatOfExtension(String extension) {
    return switch (extension.toLowerCase(Locale.ROOT)) {
      case "png" -> "png";
      case "jpg", "jpeg" -> "jpeg";
      default -> null;
    };
  }

  /** An image file opened with the PNG or JPEG reader that recognises its content. */
  private static final class ImageSource implements AutoCloseable {
    private final Path path;
    private final ImageInputStream in;
    private final ImageReader reader;
    private final String format;

    private ImageSource(Path path, ImageInputStream in, ImageReader reader, String format) {
      this.path = path;
      this.in = in;
      this.reader = reader;
      this.format = format;
    }

    /** Opens a file, or throws {@link IllegalArgumentException} if it is not PNG or JPEG. */
    static ImageSource open(Path path) throws IOException {
      ImageInputStream in = ImageIO.createImageInputStream(path.toFile());
      if (in == null) {
        throw new IllegalArgumentException("cannot read " + path + " as an image");
      }
      try {
        for (Iterator<ImageReader> readers = ImageIO.getImageReaders(in); readers.hasNext(); ) {
          ImageReader reader = readers.next();
          String format = reader.getFormatName().toLowerCase(Locale.ROOT);
          if (format.equals("png") || format.equals("jpeg")) {
            reader.setInput(in, true, true);
            return new ImageSource(path, in, reader, format);
          }
          reader.dispose();
        }
      } catch (IOException | RuntimeException e) {
        in.close();
        throw e;
      }
      in.close();
      throw new IllegalArgumentException("not a PNG or JPEG image: " + path);
    }

    /** {@code png} or {@code jpeg}. */
    String format() {
      return format;
    }

    int width() throws IOException {
      try {
        return reader.getWidth(0);
      } catch (IIOException e) {
        throw unreadable(e);
      }
    }

    int height() throws IOException {
      try {
        return reader.getHeight(0);
      } catch (IIOException e) {
        throw unreadable(e);
      }
    }

    BufferedImage decode() throws IOException {
      try {
        return reader.read(0);
      } catch (IIOException e) {
        throw unreadable(e);
      }
    }

    /** A damaged or unsupported file is bad input, not a fault of the worker. */
    private IllegalArgumentException unreadable(IIOException e) {
      return new IllegalArgumentException(
          "cannot read " + path + " as " + format.toUpperCase(Locale.ROOT) + ": " + e.getMessage(), e);
    }

    @Override
    public void close() throws IOException {
      reader.dispose();
      in.close();
    }
  }
}
