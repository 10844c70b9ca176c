package dev.offload.supervisor.store;

/**
 * One service of an offload cluster, as its lease in the shared store says.
 *
 * @param name its {@code serve --name}
 * @param address where clients reach it ({@code serve --listen})
 * @param workers how many worker JVMs it keeps
 * @param jobsHeld the jobs it held (running, or claimed to run) at its last heartbeat
 * @param lastHeartbeatMs when it last renewed its lease, in milliseconds since the epoch (the
 *     database's clock)
 */
public record ServiceRecord(String name, String address, int workers, int jobsHeld, long lastHeartbeatMs) {}
