/**
 * The handler SDK: what a plugin implements to run its own jobs in offload's worker JVMs.
 *
 * <p>A handler is a {@link dev.offload.sdk.JobHandler}: a named function from JSON input to
 * JSON output, such as {@code is_prime}. Jobs name it, the supervisor queues them, and a worker JVM
 * calls {@link dev.offload.sdk.JobHandler#run run} with the job's input and a {@link
 * dev.offload.sdk.JobContext}. This package is all a plugin compiles against; it depends on
 * the JDK and Jackson ({@code jackson-databind}) only.
 *
 * <h2>Packaging</h2>
 *
 * <p>Handlers are found with {@link java.util.ServiceLoader}: a plugin jar lists its handler classes,
 * one fully qualified name a line, in {@code META-INF/services/dev.offload.sdk.JobHandler}.
 * Each class needs a public no-argument constructor. {@code offload serve --handlers PATH} (a jar,
 * or a directory whose {@code *.jar} files are all taken; repeatable) gives the jars to every
 * worker, and {@code offload run --handlers PATH} to the private pool it starts.
 *
 * <p>All plugin jars of a pool share one class loader, whose parent is the worker's own. The
 * worker's classes come first: this package and Jackson are the worker's, at the worker's
 * versions, so a plugin declares {@code offload-sdk} with {@code provided} scope and does not ship
 * them. Any other library a plugin uses goes into the same {@code --handlers} directory as a jar
 * of its own (or into the plugin jar). The thread that runs jobs has that class loader as its
 * context class loader.
 *
 * <p>The worker refuses to start, and with it the pool, when a handler fails to load (a listed
 * class that is missing, is not a {@code JobHandler}, has no public no-argument constructor, or
 * whose constructor throws), when a handler's {@link dev.offload.sdk.JobHandler#name name} is
 * not lower case letters, digits and {@code _} starting with a letter, when two handlers share a
 * name, or when two jars list the same handler class (two copies of one plugin). Its message names
 * the class and the jar or jars.
 *
 * <h2>Threading</h2>
 *
 * <p>Each worker JVM creates one instance of each handler when it starts and keeps it for the
 * life of the process. A worker runs one job at a time, on one job thread, so {@code run} is never
 * called concurrently on an instance; a handler may keep caches in fields between jobs without
 * locking. Different workers are different processes: nothing in memory is shared between them,
 * and two jobs in a row may land on different workers. A handler may start threads of its own, but
 * must stop them before {@code run} returns, or they go on taking the CPU from the worker's next
 * job. {@link dev.offload.sdk.JobContext}'s methods may be called from any thread.
 *
 * <h2>Failure</h2>
 *
 * <p>A handler fails a job by throwing: the job ends FAILED with error code {@code HANDLER_ERROR}
 * and the exception's message, and the worker goes on to the next job. For input it cannot use, a
 * handler throws {@link java.lang.IllegalArgumentException} with a message that says what is
 * wrong; that message is shown as it is, while any other exception is shown with its type. Output
 * that is not JSON text also fails the job. Only what ends the process ({@code System.exit},
 * running out of heap, a crash in native code) costs the worker, and then only the job it was
 * running: that job ends FAILED with code {@code WORKER_LOST} and the pool starts a replacement.
 *
 * <h2>Cancellation</h2>
 *
 * <p>When a job is cancelled or runs past its deadline, {@link
 * dev.offload.sdk.JobContext#isCancelled()} turns true and the job thread is interrupted. A
 * handler that runs long should call {@link dev.offload.sdk.JobContext#checkCancelled()}
 * between chunks of work (every few milliseconds of it), or wait only in interruptible calls; it
 * then stops by throwing, and the job ends CANCELLED or TIMED_OUT whatever it throws or returns. A
 * handler that does neither is still stopped: after the cancel grace ({@code serve --cancel-grace},
 * 2 seconds by default) its worker process is killed and replaced. A handler whose work has
 * effects outside the process (files it writes, say) should therefore leave them consistent at
 * every point, for example by writing to a temporary file and renaming it at the end.
 *
 * <h2>Progress</h2>
 *
 * <p>{@link dev.offload.sdk.JobContext#reportProgress} sends a fraction done and a short
 * message to whoever watches the job ({@code offload run} draws a progress bar from them). It is
 * cheap: reports closer together than a few tens of milliseconds are dropped, except the one that
 * says the job is complete. Lines logged with {@link dev.offload.sdk.JobContext#logger()},
 * and anything a handler prints to standard output or standard error, go to the worker's log file.
 *
 * <h2>JSON</h2>
 *
 * <p>Input and output are JSON text: {@code run} receives the job's input exactly as the client
 * sent it (no input arrives as {@code "null"}) and returns its output as JSON text ({@code null}
 * stands for JSON null). {@link dev.offload.sdk.Json} parses and writes it with the same
 * settings as offload itself, so that numbers stay exact: integers of any size stay integers and
 * decimals stay {@link java.math.BigDecimal}, never passing through a {@code double}.
 */
package dev.offload.sdk;
