package dev.offload.supervisor.pool;

import java.nio.file.Path;

/**
 * A worker JVM that has said it is ready: its process, the private socket it serves on, and its
 * log. The process's standard input is the supervisor's end of a pipe; holding the {@link Process}
 * keeps that pipe open, and its closing (however the supervisor ends) tells the worker to exit.
 *
 * @param slot the pool slot it fills, 1..N
 * @param incarnation how many workers this slot had before it, so each process has its own name
 */
public record WorkerProcess(int slot, int incarnation, Process process, Path socket, WorkerLog log) {

  public long pid() {
    return process.pid();
  }
}
