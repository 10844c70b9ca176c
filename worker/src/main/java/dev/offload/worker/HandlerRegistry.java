package dev.offload.worker;

import dev.offload.proto.v1.HandlerInfo;
import dev.offload.worker.api.JobHandler;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The handlers a worker can run, found with {@link ServiceLoader}, by name. Built once at worker
 * start-up and read-only afterwards, so it is safe to share between threads.
 */
public final class HandlerRegistry {

  /** A handler and where it came from: {@code built-in} or the path of its jar. */
  public record Entry(JobHandler handler, String origin) {}

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*");

  private final Map<String, Entry> byName;

  private HandlerRegistry(Map<String, Entry> byName) {
    this.byName = byName;
  }

  /**
   * Loads every handler visible to a class loader.
   *
   * @param includeTestHandlers whether handlers marked {@link JobHandler#testOnly()} are offered
   * @throws IllegalStateException if a handler fails to load or two share a name; the message names
   *     the class or both origins
   */
  public static HandlerRegistry load(ClassLoader loader, boolean includeTestHandlers) {
    Map<String, Entry> byName = new TreeMap<>();
    try {
      for (JobHandler handler : ServiceLoader.load(JobHandler.class, loader)) {
        if (handler.testOnly() && !includeTestHandlers) {
          continue;
        }
        Entry entry = new Entry(handler, originOf(handler.getClass()));
        String name = nameOf(handler, entry.origin());
        Entry clash = byName.putIfAbsent(name, entry);
        if (clash != null) {
          throw new IllegalStateException(
              "two handlers are named '" + name + "': " + clash.handler().getClass().getName()
                  + " from " + clash.origin() + " and " + handler.getClass().getName() + " from "
                  + entry.origin() + "; remove one of the jars or rename one handler");
        }
      }
    } catch (ServiceConfigurationError e) {
      throw new IllegalStateException("a handler failed to load: " + e.getMessage(), e);
    }
    return new HandlerRegistry(byName);
  }

  /** The handler with this name, if any. */
  public Optional<JobHandler> find(String name) {
    Entry entry = byName.get(name);
    return entry == null ? Optional.empty() : Optional.of(entry.handler());
  }

  /** Every handler, by name. */
  public Collection<Entry> entries() {
    return byName.values();
  }

  /** Every handler as the protocol describes it, by name. */
  public Iterable<HandlerInfo> describe() {
    return byName.values().stream()
        .map(
            e ->
                HandlerInfo.newBuilder()
                    .setName(e.handler().name())
                    .setDescription(e.handler().description())
                    .setOrigin(e.origin())
                    .build())
        .toList();
  }

  /** The handler's name, checked: lower case letters, digits and '_', starting with a letter. */
  private static String nameOf(JobHandler handler, String origin) {
    String name;
    try {
      name = handler.name();
    } catch (RuntimeException e) {
      throw new IllegalStateException("handler " + handler.getClass().getName() + " from " + origin + " failed to give its name: " + e, e);
    }
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalStateException("handler " + handler.getClass().getName() + " from " + origin + " has the name '" + name
          + "'; a handler name is lower case letters, digits and '_', starting with a letter");
    }
    return name;
  }

  private static String originOf(Class<?> type) {
    CodeSource source = type.getProtectionDomain().getCodeSource();
    CodeSource ours = HandlerRegistry.class.getProtectionDomain().getCodeSource();
    if (source == null || ours == null || source.getLocation().equals(ours.getLocation())) {
      return "built-in";
    }
    try {
      return Path.of(source.getLocation().toURI()).toString();
    } catch (URISyntaxException | IllegalArgumentException e) {
      return source.getLocation().toString();
    }
  }
}
