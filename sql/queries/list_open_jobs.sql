-- Jobs that are not finished (pending or running), oldest first, with their flow run and
-- whether a live process holds the job's liveness lease (see job_lease_held.sql: the key is
-- the first 31 bits of the job id, as catalog_lib.ingest.liveness computes it).
SELECT j.id, j.status, j.source, j.flow_run_id, j.created_at, j.started_at,
    EXISTS (
        SELECT 1
        FROM pg_locks l
        WHERE l.locktype = 'advisory'
            AND l.granted
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid = %(namespace)s::bigint::oid
            AND l.objid = ((('x' || left(replace(j.id::text, '-', ''), 8))::bit(32)::int4
                & 2147483647)::bigint)::oid
            AND l.objsubid = 2
    ) AS runner_alive
FROM etl_jobs j
WHERE j.status IN ('pending', 'running')
ORDER BY j.created_at
LIMIT %(limit)s
