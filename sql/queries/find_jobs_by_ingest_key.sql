-- Every job of one ingest identity, live ones first, newest first.
SELECT id, status, supersedes_job_id, created_at
FROM etl_jobs
WHERE ingest_key = %(ingest_key)s
ORDER BY (status IN ('pending', 'running', 'completed')) DESC, created_at DESC
