-- The newest failed jobs since a time, with the job that replaced each one (if any).
SELECT j.id, j.source, j.filename, j.mode, j.error_kind, j.error_message, j.created_at,
    j.completed_at, s.id AS successor_id, s.status::text AS successor_status
FROM etl_jobs j
LEFT JOIN LATERAL (
    SELECT n.id, n.status
    FROM etl_jobs n
    WHERE n.supersedes_job_id = j.id
    ORDER BY n.created_at DESC
    LIMIT 1
) s ON true
WHERE j.status = 'failed' AND j.created_at >= %(since)s
ORDER BY j.created_at DESC, j.id
LIMIT %(limit)s
