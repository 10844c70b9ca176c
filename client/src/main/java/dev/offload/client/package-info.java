/**
 * The Java client of offload: run CPU-heavy jobs in a pool of worker JVMs from any thread.
 *
 * <p>Start with {@link dev.offload.client.Offloader}, the interface an application codes
 * against: {@link dev.offload.client.OffloadClient} implements it for a running service ({@code
 * offload serve}), {@code dev.offload.supervisor.ProcessPool} (in {@code offload-supervisor}) for a
 * pool the program starts itself. A submitted job is a {@link dev.offload.client.JobHandle};
 * {@link dev.offload.client.JobOptions} sets its limits; failures are {@link
 * dev.offload.client.OffloadException} and its subclasses, and {@link
 * dev.offload.client.JobCancelledException}.
 *
 * <p>{@link dev.offload.client.WireClient} (from {@link dev.offload.client.OffloadClient#wire()})
 * and {@link dev.offload.client.BatchCall} are the wire-level view, in the protocol's own
 * messages and gRPC's exceptions, for tools such as the {@code offload} CLI.
 *
 * <p>The package logs only through slf4j-api, at DEBUG, apart from a WARN when a progress
 * listener throws.
 */
package dev.offload.client;
