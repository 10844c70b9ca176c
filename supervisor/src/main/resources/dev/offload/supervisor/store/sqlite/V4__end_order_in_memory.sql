-- Version 4: no index on the order of ends. It added a page to every commit that ends a job, nearly
-- half of a lone job's end commit (measured: 15.9 µs with it, 8.9 µs without, for an end's update
-- and its commit on their own). The service prunes by the ids of the jobs that ended, which
-- it reads in the order of ends at open and keeps in memory from then on; the open's own reads of
-- that order (a few, once) scan the table instead.

DROP INDEX IF EXISTS jobs_by_finish;
