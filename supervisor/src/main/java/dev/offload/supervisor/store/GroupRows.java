package dev.offload.supervisor.store;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows a group of writes leaves in the {@code jobs} table, each job's once. A group is one
 * transaction, so nothing can see a job's steps within it apart: its last write's record is the
 * row (a record carries every column its kind of write sets, and an end's every column a start's
 * does), inserted if the job was accepted in the group, else updated. A busy service's short job
 * may be accepted, started and ended in one group: one insert, instead of an insert and two updates.
 *
 * <p>The jobs that ended in the group are numbered in the order their ends were written, from
 * the store's count of ends so far ({@code finished_seq}).
 */
final class GroupRows {

  /** A job's row: its record, and its place in the order of ends, or 0 if it has not ended. */
  record Row(JobRecord job, long finishedSeq) {}

  /** Accepted in the group, without an idempotency key: inserted together. */
  final List<Row> inserted = new ArrayList<>();
  /** Accepted in the group with an idempotency key: inserted one by one, each after its key is released. */
  final List<Row> insertedWithKey = new ArrayList<>();
  /** Accepted earlier and started, or queued again, in the group. */
  final List<JobRecord> restated = new ArrayList<>();
  /** Accepted earlier and ended in the group. */
  final List<Row> ended = new ArrayList<>();
  /** Every job that ended in the group, inserted or updated, in the order of their ends. */
  final List<Row> endsInOrder = new ArrayList<>();
  /** The highest id inserted; 0 if none was. */
  final long maxInsertedId;

  private GroupRows(long maxInsertedId) {
    this.maxInsertedId = maxInsertedId;
  }

  /** @param finishedSeq the store's count of ends before this group */
  static GroupRows of(List<SqliteStore.Write> group, long finishedSeq) {
    Map<Long, Step> byJob = new LinkedHashMap<>();
    long maxInsertedId = 0;
    for (SqliteStore.Write w : group) {
      JobRecord job = w.job();
      if (job == null) {
        continue; // a completion told in order, with nothing to write
      }
      Step step = byJob.computeIfAbsent(job.id(), id -> new Step());
      step.last = job;
      switch (w.kind()) {
        case ACCEPTED -> {
          step.accepted = true;
          maxInsertedId = Math.max(maxInsertedId, job.id());
        }
        case ENDED -> step.finishedSeq = ++finishedSeq;
        case STATE -> { }
      }
    }
    GroupRows rows = new GroupRows(maxInsertedId);
    List<Row> ends = new ArrayList<>();
    for (Step step : byJob.values()) {
      Row row = new Row(step.last, step.finishedSeq);
      if (step.accepted) {
        (step.last.idempotencyKey() == null ? rows.inserted : rows.insertedWithKey).add(row);
      } else if (step.finishedSeq > 0) {
        rows.ended.add(row);
      } else {
        rows.restated.add(step.last);
      }
      if (step.finishedSeq > 0) {
        ends.add(row);
      }
    }
    ends.sort((a, b) -> Long.compare(a.finishedSeq(), b.finishedSeq()));
    rows.endsInOrder.addAll(ends);
    return rows;
  }

  /** What the group's writes of one job came to, so far. */
  private static final class Step {
    JobRecord last;
    boolean accepted;
    long finishedSeq;
  }
}
