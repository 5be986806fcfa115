-- Jobs that are not finished (pending or running), oldest first, with their flow run.
SELECT id, status, source, flow_run_id, created_at, started_at
FROM etl_jobs
WHERE status IN ('pending', 'running')
ORDER BY created_at
LIMIT %(limit)s
