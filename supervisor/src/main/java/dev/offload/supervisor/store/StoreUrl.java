package dev.offload.supervisor.store;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Which store a service records its jobs in ({@code serve --store URL}): {@code memory:} or
 * {@code sqlite:PATH}.
 */
public sealed interface StoreUrl {

  /** What the error for an unknown URL lists. */
  String KINDS = "memory: (nothing kept) or sqlite:PATH (a file, made if it is not there)";

  /** {@code memory:}: nothing is kept (see {@link MemoryStore}). */
  record Memory() implements StoreUrl {
    @Override
    public String toString() {
      return "memory:";
    }
  }

  /** {@code sqlite:PATH}: a SQLite database file, made if it is not there. */
  record Sqlite(Path path) implements StoreUrl {
    @Override
    public String toString() {
      return "sqlite:" + path;
    }
  }

  /** The kind's name, as {@code stats} shows it. */
  default String kind() {
    return switch (this) {
      case Memory m -> "memory";
      case Sqlite s -> "sqlite";
    };
  }

  /** Opens nothing yet: the store this URL names, to be {@link Store#open opened}. */
  default Store store(Durability durability, int keepFinished) {
    return switch (this) {
      case Memory m -> new MemoryStore();
      case Sqlite s -> new SqliteStore(s.path(), durability, keepFinished);
    };
  }

  /**
   * Parses a store URL; a relative PATH is taken from the working directory.
   *
   * @throws IllegalArgumentException saying what is wrong and what is supported
   */
  static StoreUrl parse(String text) {
    if (text.equals("memory:") || text.equals("memory")) {
      return new Memory();
    }
    if (text.startsWith("sqlite:")) {
      String path = text.substring("sqlite:".length());
      if (path.startsWith("//")) {
        path = path.substring(2); // sqlite://PATH, as some tools write it
      }
      if (path.isBlank()) {
        throw new IllegalArgumentException("sqlite: needs the path of the database file, for example sqlite:/var/lib/offload/jobs.db");
      }
      return new Sqlite(Path.of(path).toAbsolutePath().normalize());
    }
    String scheme = text.contains(":") ? text.substring(0, text.indexOf(':')) : "";
    if (scheme.equals("postgresql") || scheme.equals("postgres") || scheme.equals("jdbc")) {
      throw new IllegalArgumentException("the store " + redact(text) + " is a PostgreSQL URL, which this offload does not support yet;"
          + " use " + KINDS);
    }
    throw new IllegalArgumentException("unknown store " + redact(text) + "; use " + KINDS);
  }

  /** {@code user:password@} and {@code password=...} parameters of a URL. */
  Pattern USER_INFO_PASSWORD = Pattern.compile("(//[^/@:]*):[^/@]*@");
  Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)([?&;]password=)[^&;]*");

  /**
   * The URL with any password removed: {@code postgresql://u:secret@h/db?password=x} reads
   * {@code postgresql://u@h/db?password=***}. For messages and {@code stats}, which must never show
   * a secret.
   */
  static String redact(String url) {
    String noUserInfoPassword = USER_INFO_PASSWORD.matcher(url).replaceAll("$1@");
    return PASSWORD_PARAMETER.matcher(noUserInfoPassword).replaceAll("$1***");
  }
}
