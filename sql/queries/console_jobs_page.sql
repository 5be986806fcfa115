-- One page of the Jobs table, newest first. Every filter is optional (NULL = any): sources,
-- states, created in [since, until), scraper revision.
SELECT id, status::text AS status, mode, source, filename, scraper_revision, created_at,
    started_at, completed_at, chunks_total, total_processed, total_valid, total_invalid,
    reconcile_delta, error_kind, supersedes_job_id,
    extract(epoch FROM coalesce(completed_at, now()) - started_at) AS duration_s
FROM etl_jobs
WHERE (%(sources)s::text[] IS NULL OR source = ANY(%(sources)s::text[]))
    AND (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s::etl_job_status[]))
    AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s::timestamptz)
    AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s::timestamptz)
    AND (%(revision)s::text IS NULL OR scraper_revision = %(revision)s::text)
ORDER BY created_at DESC, id
LIMIT %(limit)s OFFSET %(offset)s
