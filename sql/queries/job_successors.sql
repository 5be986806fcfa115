-- The jobs that directly replace one job (retries and repairs of it), newest first.
SELECT *
FROM etl_jobs
WHERE supersedes_job_id = %(job_id)s
ORDER BY created_at DESC
