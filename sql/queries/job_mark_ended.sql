-- pending/running -> failed or cancelled. With a run id, only that run's own job (or one no
-- run has claimed yet) is ended, so a refused second run cannot fail another run's job.
UPDATE etl_jobs
SET status = %(status)s,
    completed_at = now(),
    error_kind = %(kind)s,
    error_message = %(message)s
WHERE id = %(id)s
    AND status IN ('pending', 'running')
    AND (%(run)s::uuid IS NULL OR flow_run_id IS NULL OR flow_run_id = %(run)s::uuid)
RETURNING id
