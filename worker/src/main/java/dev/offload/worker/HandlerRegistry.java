package dev.offload.worker;

import dev.offload.wire.PluginJars;
import dev.offload.proto.v1.HandlerInfo;
import dev.offload.sdk.JobHandler;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
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

  /**
   * A handler and where it came from.
   *
   * @param handler the handler
   * @param origin {@code built-in}, or the path of the jar it came from
   */
  public record Entry(JobHandler handler, String origin) {}

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*");

  private final Map<String, Entry> byName;

  private HandlerRegistry(Map<String, Entry> byName) {
    this.byName = byName;
  }

  /**
   * Loads every handler visible to a class loader.
   *
   * @param loader the class loader whose {@code META-INF/services} entries are read
   * @param includeTestHandlers whether handlers marked {@link JobHandler#testOnly()} are offered
   * @return the handlers found, by name
   * @throws IllegalStateException if a handler fails to load or two share a name; the message names
   *     the class and where it came from (for two, both origins)
   */
  public static HandlerRegistry load(ClassLoader loader, boolean includeTestHandlers) {
    Map<String, Entry> byName = new TreeMap<>();
    Iterator<ServiceLoader.Provider<JobHandler>> providers = ServiceLoader.load(JobHandler.class, loader).stream().iterator();
    while (true) {
      ServiceLoader.Provider<JobHandler> provider;
      try {
        if (!providers.hasNext()) {
          break;
        }
        provider = providers.next();
      } catch (ServiceConfigurationError | LinkageError e) {
        // The class is missing, is not a JobHandler, has no public no-argument constructor or does
        // not link (built for a newer Java, say). Only the services file can tell which jar it is.
        throw new IllegalStateException("a handler failed to load: " + e.getMessage() + hint(e) + listedIn(loader, e), e);
      }
      String origin = originOf(provider.type());
      JobHandler handler;
      try {
        handler = provider.get();
      } catch (ServiceConfigurationError e) {
        throw new IllegalStateException("handler " + provider.type().getName() + " from " + origin
            + " could not be created: " + describe(e.getCause() == null ? e : e.getCause()) + hint(e), e);
      }
      if (handler.testOnly() && !includeTestHandlers) {
        continue;
      }
      Entry entry = new Entry(handler, origin);
      String name = nameOf(handler, entry.origin());
      Entry clash = byName.putIfAbsent(name, entry);
      if (clash != null) {
        throw new IllegalStateException(
            "two handlers are named '" + name + "': " + clash.handler().getClass().getName()
                + " from " + clash.origin() + " and " + handler.getClass().getName() + " from "
                + entry.origin() + "; remove one of the jars or rename one handler");
      }
    }
    return new HandlerRegistry(byName);
  }

  /**
   * The handler with this name, if any.
   *
   * @param name a handler's name
   * @return the handler, or empty if none has that name
   */
  public Optional<JobHandler> find(String name) {
    Entry entry = byName.get(name);
    return entry == null ? Optional.empty() : Optional.of(entry.handler());
  }

  /**
   * Every handler, by name.
   *
   * @return the entries, sorted by name
   */
  public Collection<Entry> entries() {
    return byName.values();
  }

  /**
   * Every handler as the protocol describes it, by name.
   *
   * @return one description per handler
   */
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

  private static String describe(Throwable failure) {
    return failure.getClass().getSimpleName() + (failure.getMessage() == null ? "" : ": " + failure.getMessage());
  }

  /** What to do when a handler's class needs one that is not there, or an empty string. */
  private static String hint(Throwable failure) {
    for (Throwable t = failure.getCause(); t != null; t = t.getCause()) {
      if (t instanceof NoClassDefFoundError || t instanceof ClassNotFoundException) {
        String missing = String.valueOf(t.getMessage()).replace('/', '.');
        return "; it needs the class " + missing + ", which is missing: give the jar of its library to --handlers as well";
      }
    }
    return "";
  }

  /**
   * Where the class that an error names is listed: "; it is listed in " and the jars (or
   * directories) whose services file names it, or an empty string if none does.
   */
  private static String listedIn(ClassLoader loader, Throwable error) {
    // Errors name classes with dots ("Provider a.B not found") or slashes (class-file versions).
    String message = String.valueOf(error.getMessage()).replace('/', '.');
    Set<String> places = new LinkedHashSet<>();
    try {
      for (URL services : Collections.list(loader.getResources(PluginJars.SERVICES))) {
        try (InputStream in = services.openStream()) {
          for (String type : PluginJars.providerNames(in)) {
            if (Pattern.compile("(?<![\\w.$])" + Pattern.quote(type) + "(?![\\w$])").matcher(message).find()) {
              places.add(rootOf(services));
            }
          }
        }
      }
    } catch (IOException e) {
      return "";
    }
    return places.isEmpty() ? "" : "; it is listed in " + String.join(" and ", places);
  }

  /** The jar or directory a resource URL of a class loader points into. */
  private static String rootOf(URL services) {
    String url = services.toString();
    String root = url.endsWith(PluginJars.SERVICES) ? url.substring(0, url.length() - PluginJars.SERVICES.length()) : url;
    if (root.startsWith("jar:") && root.endsWith("!/")) {
      root = root.substring("jar:".length(), root.length() - "!/".length());
    }
    try {
      return Path.of(URI.create(root)).toString();
    } catch (IllegalArgumentException | FileSystemNotFoundException e) {
      return root;
    }
  }
}
