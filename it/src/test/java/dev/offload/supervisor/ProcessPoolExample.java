package dev.offload.supervisor;

import dev.offload.client.InvalidInputException;
import dev.offload.client.JobCancelledException;
import dev.offload.client.JobFailedException;
import dev.offload.client.JobHandle;
import dev.offload.client.JobOptions;
import dev.offload.client.JobTimedOutException;
import dev.offload.client.Offloader;
import dev.offload.client.QueueFullException;
import dev.offload.client.ServiceUnavailableException;
import dev.offload.client.UnknownHandlerException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The README's examples of the Java API, compiled and run by {@link ProcessPoolIT}. */
final class ProcessPoolExample {

  private ProcessPoolExample() {}

  // README:begin virtual threads
  record Prime(long n, boolean prime) {}                       // is_prime's output, read by Jackson

  static List<Prime> checkPrimes(List<Long> numbers) throws Exception {
    try (ProcessPool pool = ProcessPool.start(2);              // two worker JVMs, started once
         ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Prime>> results = new ArrayList<>();
      for (long n : numbers) {
        results.add(tasks.submit(() -> check(pool, n)));       // one pool, handed to every task
      }
      List<Prime> primes = new ArrayList<>();
      for (Future<Prime> result : results) {
        primes.add(result.get());
      }
      return primes;
    }                                    // close(): the tasks end first, then every worker JVM
  }

  static Prime check(Offloader pool, long n) throws InterruptedException {
    return pool.run("is_prime", n, Prime.class);               // waits; an interrupt cancels the job
  }
  // README:end

  // README:begin handle
  static String followOneJob(Offloader pool) throws InterruptedException {
    JobOptions options = JobOptions.defaults()
        .withDeadline(Duration.ofSeconds(30))                  // the service stops it after 30 s
        .withProgressListener(p -> System.err.printf("%.0f%% %s%n", p.fraction() * 100, p.message()));
    JobHandle<Prime> job = pool.submit("is_prime", 9999999999999917L, Prime.class, options);
    String id = job.id();                                      // accepted: "j-1", say
    try {
      Prime prime = job.get();                                 // or job.future(), a CompletableFuture
      return id + ": " + prime;
    } catch (JobFailedException e) {                           // the handler threw
      return id + " failed: " + e.handlerExceptionClass().orElse(e.code()) + "\n" + e.handlerStackTrace();
    } catch (JobTimedOutException e) {                         // past the deadline: stopped
      return id + " timed out: " + e.getMessage();
    } catch (JobCancelledException e) {                        // cancelled by job.cancel() or another client
      return id + " cancelled";
    }
  }
  // README:end

  // README:begin errors
  static String echo(Offloader pool, String json) throws InterruptedException {
    try {
      return pool.runJson("echo", json);                       // JSON text in and out, as it is
    } catch (UnknownHandlerException e) {                      // misspelt, or its jar not loaded
      return "no such handler; the service has " + e.knownHandlers();
    } catch (InvalidInputException e) {                        // not JSON, too large, a bad option
      return "refused: " + e.getMessage();
    } catch (QueueFullException e) {                           // nothing ran: try again later
      return "busy: " + e.getMessage();
    } catch (ServiceUnavailableException e) {                  // names the target, and what to do
      return "no service: " + e.getMessage();
    }
  }
  // README:end
}
