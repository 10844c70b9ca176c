-- Version 2: a job's idempotency key (SubmitJobRequest.idempotency_key), so that a submission
-- repeated after a restart finds the job it created instead of creating another.

-- Null for a job submitted without one. Rows of a version 1 store have none.
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;

-- One job per key: what a restarted service looks keys up by. Partial, as most jobs have no key.
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
