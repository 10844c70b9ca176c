package dev.offload.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.client.JobHandle;
import dev.offload.client.JobOptions;
import dev.offload.proto.v1.Job;
import dev.offload.proto.v1.JobState;
import dev.offload.supervisor.store.Durability;
import dev.offload.supervisor.store.StoreUrl;
import dev.offload.testing.NoLeftoverProcesses;
import dev.offload.testing.RunningService;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** An embedded pool keeps nothing unless it is given a store; given one, its jobs outlive it. */
@ExtendWith(NoLeftoverProcesses.class)
class ProcessPoolStoreIT {

  @TempDir Path dir;

  @Test
  void byDefault_recordsNothing() throws Exception {
    try (ProcessPool pool = ProcessPool.start(RunningService.config(1))) {
      assertEquals("[1]", pool.submitJson("echo", "[1]", JobOptions.defaults()).get());
      var store = pool.client().wire().poolStatus().getStore();
      assertEquals("memory", store.getKind());
      assertEquals("memory:", store.getUrl());
      assertEquals(0, store.getJobsKept());
    }
    try (var files = Files.list(dir)) {
      assertEquals(0, files.count(), "nothing written");
    }
  }

  @Test
  void givenASqliteStore_finishedJobsAndIds_outliveThePool() throws Exception {
    Path db = dir.resolve("jobs.db");
    var config = RunningService.config(1).withStore(new StoreUrl.Sqlite(db), Durability.PROCESS);
    String first;
    try (ProcessPool pool = ProcessPool.start(config)) {
      JobHandle<String> job = pool.submitJson("echo", "{\"kept\":1}", JobOptions.defaults());
      assertEquals("{\"kept\":1}", job.get());
      first = job.id();
      var store = pool.client().wire().poolStatus().getStore();
      assertEquals("sqlite", store.getKind());
      assertEquals("process", store.getDurability());
      assertEquals(1, store.getJobsKept());
    }
    try (ProcessPool pool = ProcessPool.start(config)) {
      Job kept = pool.client().wire().get(first);
      assertEquals(JobState.SUCCEEDED, kept.getState());
      assertEquals("{\"kept\":1}", kept.getOutputJson());
      JobHandle<String> next = pool.submitJson("echo", "2", JobOptions.defaults());
      assertEquals("2", next.get());
      assertTrue(Long.parseLong(next.id().substring(2)) > Long.parseLong(first.substring(2)), next.id() + " after " + first);
    }
  }
}
