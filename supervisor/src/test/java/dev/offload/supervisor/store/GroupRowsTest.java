package dev.offload.supervisor.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.offload.proto.v1.JobState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a group's writes come to one row per job. */
class GroupRowsTest {

  private static JobRecord job(long id, JobState state, String key) {
    return new JobRecord(id, "echo", state, "{}", "", "", "", 0, 0, 0, 0, 0, 1, 0, 0, 0, key);
  }

  private static SqliteStore.Write write(SqliteStore.Kind kind, JobRecord job) {
    return new SqliteStore.Write(kind, job, null);
  }

  @Test
  void eachJobIsWrittenOnce_asItsLastWriteHasIt_insertedIfAcceptedInTheGroup() {
    JobRecord a = job(1, JobState.QUEUED, null);
    JobRecord aRunning = job(1, JobState.RUNNING, null);
    JobRecord aEnded = job(1, JobState.SUCCEEDED, null);
    JobRecord b = job(2, JobState.RUNNING, null);
    JobRecord bAgain = job(2, JobState.QUEUED, null);
    JobRecord c = job(3, JobState.FAILED, null);
    JobRecord keyed = job(7, JobState.QUEUED, "k");
    JobRecord d = job(4, JobState.QUEUED, null);
    GroupRows rows = GroupRows.of(List.of(
        write(SqliteStore.Kind.ACCEPTED, a),
        write(SqliteStore.Kind.STATE, b),
        write(SqliteStore.Kind.STATE, aRunning),
        write(SqliteStore.Kind.ENDED, c),
        write(SqliteStore.Kind.ACCEPTED, keyed),
        new SqliteStore.Write(SqliteStore.Kind.STATE, null, f -> {}),
        write(SqliteStore.Kind.STATE, bAgain),
        write(SqliteStore.Kind.ENDED, aEnded),
        write(SqliteStore.Kind.ACCEPTED, d)), 40);

    assertEquals(List.of(new GroupRows.Row(aEnded, 42), new GroupRows.Row(d, 0)), rows.inserted);
    assertEquals(List.of(new GroupRows.Row(keyed, 0)), rows.insertedWithKey);
    assertEquals(List.of(bAgain), rows.restated, "the last of its writes");
    assertEquals(List.of(new GroupRows.Row(c, 41)), rows.ended);
    assertEquals(List.of(new GroupRows.Row(c, 41), new GroupRows.Row(aEnded, 42)), rows.endsInOrder);
    assertEquals(7, rows.maxInsertedId);
  }
}
