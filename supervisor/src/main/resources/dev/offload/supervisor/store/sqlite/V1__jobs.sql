-- Version 1 of the job store: the jobs, and the store's own facts.

-- next_id: the first id not yet given to a job; alive_at_ms: when the service that holds the store
-- last said it was alive (its heartbeat), what a job lost with it is told; finished_seq: how many
-- jobs have ended, the order of finished_seq in jobs.
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('next_id', 1), ('alive_at_ms', 0), ('finished_seq', 0);

-- One row per job: its request, its state, and once it has ended its outcome and timings.
-- state is a JobState name; finished_seq is null until the job has ended, then its place in the
-- order jobs ended (what --keep-finished prunes by).
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  handler TEXT NOT NULL,
  state TEXT NOT NULL,
  input_json TEXT NOT NULL,
  output_json TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  worker_pid INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  deadline_ms INTEGER NOT NULL,
  submitted_at_ms INTEGER NOT NULL,
  started_at_ms INTEGER NOT NULL DEFAULT 0,
  queued_ms INTEGER NOT NULL DEFAULT 0,
  run_ms INTEGER NOT NULL DEFAULT 0,
  finished_seq INTEGER
);

CREATE INDEX jobs_by_finish ON jobs (finished_seq) WHERE finished_seq IS NOT NULL;
