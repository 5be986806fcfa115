-- Jobs, newest first, optionally filtered by source and status.
SELECT id, status, source, filename, object_key, created_at, started_at, completed_at,
    chunks_total, total_processed, total_valid, total_invalid, total_embedding_failures,
    verified_row_count, reconcile_delta, supersedes_job_id, error_kind
FROM etl_jobs
WHERE (%(source)s::text IS NULL OR source = %(source)s)
    AND (%(status)s::text IS NULL OR status::text = %(status)s)
ORDER BY created_at DESC
LIMIT %(limit)s
