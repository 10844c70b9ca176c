package dev.offload.supervisor.store;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Which store a service records its jobs in ({@code serve --store URL}): {@code memory:}, {@code
 * sqlite:PATH}, or {@code postgresql://[USER@]HOST[:PORT]/DB}, which several services share.
 */
public sealed interface StoreUrl {

  /** What the error for an unknown URL lists. */
  String KINDS = "memory: (nothing kept), sqlite:PATH (a file, made if it is not there)"
      + " or postgresql://[USER@]HOST[:PORT]/DB (a database several services share)";

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

  /**
   * {@code postgresql://[USER@]HOST[:PORT]/DB[?PARAMETERS]}: a PostgreSQL database that several
   * services share (see {@link SharedStore}). Its password is never part of the URL.
   *
   * @param user who to connect as; empty: the name of the user running the service, as libpq does
   * @param port 5432 unless given
   * @param parameters the URL's query string (without {@code ?}), passed to the JDBC driver; may be empty
   */
  record Postgresql(String user, String host, int port, String database, String parameters) implements StoreUrl {
    /** The JDBC URL of the database, without user or password. */
    public String jdbcUrl() {
      return "jdbc:postgresql://" + host + ":" + port + "/" + database + (parameters.isEmpty() ? "" : "?" + parameters);
    }

    @Override
    public String toString() {
      return "postgresql://" + (user.isEmpty() ? "" : user + "@") + host + ":" + port + "/" + database
          + (parameters.isEmpty() ? "" : "?" + parameters);
    }
  }

  /** The kind's name, as {@code stats} shows it. */
  default String kind() {
    return switch (this) {
      case Memory m -> "memory";
      case Sqlite s -> "sqlite";
      case Postgresql p -> "postgresql";
    };
  }

  /**
   * Opens nothing yet: the store this URL names, to be {@link Store#open opened}.
   *
   * @param member how this service takes part in a shared store; used only by one
   */
  default Store store(Durability durability, int keepFinished, ClusterMember member) {
    return switch (this) {
      case Memory m -> new MemoryStore();
      case Sqlite s -> new SqliteStore(s.path(), durability, keepFinished);
      case Postgresql p -> new PostgresStore(p, member, keepFinished);
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
    if (text.startsWith("postgresql://") || text.startsWith("postgres://")) {
      return postgresql(text);
    }
    if (text.startsWith("jdbc:")) {
      throw new IllegalArgumentException("the store " + redact(text) + " is a JDBC URL; give it as postgresql://[USER@]HOST[:PORT]/DB");
    }
    throw new IllegalArgumentException("unknown store " + redact(text) + "; use " + KINDS);
  }

  /** {@code postgresql://[USER@]HOST[:PORT]/DB[?PARAMETERS]}, each part checked. */
  Pattern POSTGRESQL = Pattern.compile("postgres(?:ql)?://(?:([^/@:?]+)(:[^/@]*)?@)?([^/:?@]+)(?::(\\d{1,5}))?/([^/?]+)(?:\\?(.*))?");

  private static Postgresql postgresql(String text) {
    var m = POSTGRESQL.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("the store " + redact(text) + " is not a PostgreSQL URL offload can read;"
          + " give it as postgresql://[USER@]HOST[:PORT]/DB, for example postgresql://offload@db.example:5432/offload");
    }
    if (m.group(2) != null || (m.group(6) != null && PASSWORD_PARAMETER.matcher("?" + m.group(6)).find())) {
      throw new IllegalArgumentException("the store URL " + redact(text) + " holds a password, which would show in the process list;"
          + " remove it from the URL and give it with --store-password-file FILE (mode 0600) or the PGPASSWORD variable");
    }
    int port = m.group(4) == null ? 5432 : Integer.parseInt(m.group(4));
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("the store " + redact(text) + " has the port " + port + "; a port is 1 to 65535");
    }
    return new Postgresql(m.group(1) == null ? "" : m.group(1), m.group(3), port, m.group(5), m.group(6) == null ? "" : m.group(6));
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
