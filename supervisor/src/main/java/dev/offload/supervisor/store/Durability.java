package dev.offload.supervisor.store;

/** What an accepted job survives ({@code serve --durability}). */
public enum Durability {
  /**
   * Any crash of the service (kill -9, out of memory): every commit reaches the operating system
   * before the job is acknowledged, but is not forced to the disk (SQLite WAL with {@code
   * synchronous=NORMAL}). A power loss or an OS crash may lose the last commits.
   */
  PROCESS,
  /**
   * Also a power loss or an OS crash: each group of commits is forced to the disk (fsync, SQLite
   * {@code synchronous=FULL}) before its jobs are acknowledged.
   */
  MACHINE
}
