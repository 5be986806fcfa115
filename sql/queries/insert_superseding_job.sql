-- Create the job that replaces `supersedes_job_id` (an operator retry or repair): source,
-- file, object key, scraper revision and chunk size are copied from the original row, which is
-- never modified. The original must still be in an eligible status, and the partial unique
-- index etl_jobs_live_supersedes_uq turns a racing second retry/repair of the same job into
-- "no row returned".
INSERT INTO etl_jobs (
    id, status, source, filename, object_key, scraper_revision, ingest_key, chunk_size,
    source_etag, source_last_modified, source_size, supersedes_job_id, mode
)
SELECT %(id)s, 'pending', o.source, o.filename, o.object_key, o.scraper_revision,
    %(ingest_key)s, coalesce(o.chunk_size, %(chunk_size)s), %(source_etag)s,
    %(source_last_modified)s, %(source_size)s, o.id, %(mode)s
FROM etl_jobs o
WHERE o.id = %(supersedes_job_id)s AND o.status::text = ANY(%(eligible_statuses)s::text[])
ON CONFLICT DO NOTHING
RETURNING id
