-- pending -> running, or a re-run of the job's own flow run (failed/running -> running).
-- Any other run is refused: a job belongs to the flow run that first claimed it.
UPDATE etl_jobs
SET status = 'running',
    started_at = coalesce(started_at, now()),
    completed_at = NULL,
    error_kind = NULL,
    error_message = NULL,
    flow_run_id = coalesce(flow_run_id, %(run)s)
WHERE id = %(id)s
    AND (status = 'pending'
        OR (status IN ('running', 'failed') AND flow_run_id IS NOT DISTINCT FROM %(run)s))
RETURNING id
