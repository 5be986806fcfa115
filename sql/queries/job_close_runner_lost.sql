-- running -> failed because the process running the job is gone: its liveness lease is free.
-- The lease is re-checked in this statement, so a runner that holds it is never failed.
UPDATE etl_jobs
SET status = 'failed',
    completed_at = now(),
    error_kind = 'runner_lost',
    error_message = %(message)s
WHERE id = %(id)s
    AND status = 'running'
    AND NOT EXISTS (
        SELECT 1
        FROM pg_locks
        WHERE locktype = 'advisory'
            AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND classid = %(namespace)s::bigint::oid
            AND objid = %(key)s::bigint::oid
            AND objsubid = 2
    )
RETURNING id
