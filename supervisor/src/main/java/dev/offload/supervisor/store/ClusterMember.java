package dev.offload.supervisor.store;

import java.time.Duration;

/**
 * How this service takes part in an offload cluster (a {@link SharedStore}).
 *
 * @param name its name in the cluster ({@code serve --name}; by default {@code hostname:pid})
 * @param address where clients reach it ({@code serve --listen}), shown to the other services
 * @param workers how many worker JVMs it keeps
 * @param password the database password ({@code --store-password-file} or {@code PGPASSWORD}),
 *     null if none; never logged, and left out of {@link #toString}
 * @param lease how long the service counts as alive after each heartbeat; it renews it every third
 */
public record ClusterMember(String name, String address, int workers, String password, Duration lease) {

  /** The lease when {@code serve --lease} is not given. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(10);

  @Override
  public String toString() {
    return "ClusterMember[name=" + name + ", address=" + address + ", workers=" + workers + ", lease=" + lease + "]";
  }
}
