-- Version 3: meta's finished_seq is written only when finished jobs are pruned; every job that has
-- ended since carries its own place in the order of ends (jobs.finished_seq), and an open takes the
-- higher of the two. An older offload reads meta's alone, and would number new ends again from
-- there: this version is what makes it refuse the store.

UPDATE meta SET value = MAX(value, (SELECT COALESCE(MAX(finished_seq), 0) FROM jobs)) WHERE key = 'finished_seq';
