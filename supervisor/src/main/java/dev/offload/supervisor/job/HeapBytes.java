package dev.offload.supervisor.job;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.offload.wire.Utf8;
import java.lang.management.ManagementFactory;

/**
 * What a job's text (its input, output or error) takes of the heap, as the bounds on what jobs
 * hold count it ({@code --pending-memory}, {@code --finished-memory}): its UTF-8 bytes (the size
 * of its array when it is ASCII, as JSON mostly is); or, for a text of half a G1 region or more,
 * the whole regions G1 gives it, as it gives a "humongous" object regions of its own. A 1 MiB
 * input in a heap of 1 MiB regions (any heap under 4 GiB) takes two: counted by its bytes alone,
 * such inputs held twice what the bounds allowed, and a 48 MiB service filled its heap under
 * bounds of a quarter of it each.
 */
public final class HeapBytes {

  /** The G1 region size of this JVM; 0 under another collector, or if it cannot be told. */
  private static final long REGION = g1RegionBytes();
  /** An array's header, which counts toward the regions a humongous array takes. */
  private static final long ARRAY_HEADER = 16;

  private HeapBytes() {}

  public static long ofText(String text) {
    return text == null ? 0 : ofArray(Utf8.length(text));
  }

  /** The heap an array of {@code bytes} takes, as counted here. */
  public static long ofArray(long bytes) {
    if (REGION == 0 || bytes < REGION / 2) {
      return bytes;
    }
    return (bytes + ARRAY_HEADER + REGION - 1) / REGION * REGION;
  }

  private static long g1RegionBytes() {
    try {
      HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if (!Boolean.parseBoolean(vm.getVMOption("UseG1GC").getValue())) {
        return 0;
      }
      return Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue());
    } catch (RuntimeException | LinkageError notHotSpot) {
      return 0; // counted by bytes alone
    }
  }
}
