-- Version 1 of the shared job store (PostgreSQL): the services of the cluster, the jobs, and the
-- schema's version. The job columns are the SQLite store's, so that a JobRecord maps the same way;
-- what only a shared store needs is who holds a job (owner, claim_token) and the stops asked for
-- through another service (stop_*). The runner (PostgresStore.migrate) records the version in meta.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);

-- One row per service start (an incarnation): its lease. expires_at is the database's time, so that
-- the hosts' clocks never matter. state: ALIVE, STOPPED (closed cleanly) or LOST (its lease expired
-- and another service settled its jobs); a LOST row is never ALIVE again, the service registers anew.
CREATE TABLE services (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  workers INTEGER NOT NULL,
  jobs_held INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'ALIVE',
  lease_ms INTEGER NOT NULL,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX services_alive ON services (expires_at) WHERE state = 'ALIVE';

-- Job ids, taken in blocks: one nextval gives a service the 1,000 ids from its value on.
CREATE SEQUENCE job_ids INCREMENT BY 1000 MINVALUE 1 START WITH 1;

-- The order jobs end in, cluster-wide: what --keep-finished prunes by, and what a listener that
-- lost its connection re-reads the ends it missed by.
CREATE SEQUENCE finished_seq;

-- One row per job. owner: the service holding it (claimed, or running); null while it is in the
-- shared queue or has ended. claim_token: raised by every claim and take-over, never lowered; every
-- write a service makes about a job names the (owner, claim_token) it holds the job under, so that a
-- late write of a service that lost the job changes nothing (fencing). stop_state, stop_code and
-- stop_message: a stop asked for (through any service) while a service held the job; its holder
-- ends it so, or a rescue does if the holder was lost first.
CREATE TABLE jobs (
  id BIGINT PRIMARY KEY,
  handler TEXT NOT NULL,
  state TEXT NOT NULL,
  input_json TEXT NOT NULL,
  output_json TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  worker_pid BIGINT NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL,
  timeout_ms BIGINT NOT NULL,
  deadline_ms BIGINT NOT NULL,
  submitted_at_ms BIGINT NOT NULL,
  started_at_ms BIGINT NOT NULL DEFAULT 0,
  queued_ms BIGINT NOT NULL DEFAULT 0,
  run_ms BIGINT NOT NULL DEFAULT 0,
  finished_seq BIGINT,
  idempotency_key TEXT,
  owner BIGINT REFERENCES services (id),
  claim_token BIGINT NOT NULL DEFAULT 0,
  submitted_via BIGINT NOT NULL REFERENCES services (id),
  ran_on TEXT NOT NULL DEFAULT '',
  stop_state TEXT NOT NULL DEFAULT '',
  stop_code TEXT NOT NULL DEFAULT '',
  stop_message TEXT NOT NULL DEFAULT ''
);

-- The shared queue, oldest first: what a claim reads (FOR UPDATE SKIP LOCKED).
CREATE INDEX jobs_waiting ON jobs (submitted_at_ms, id) WHERE state = 'QUEUED' AND owner IS NULL;
-- A service's jobs: what a rescue settles.
CREATE INDEX jobs_by_owner ON jobs (owner) WHERE owner IS NOT NULL;
CREATE INDEX jobs_by_finish ON jobs (finished_seq) WHERE finished_seq IS NOT NULL;
CREATE INDEX jobs_by_submission ON jobs (submitted_at_ms, id);
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
