-- Create a job row; the partial unique indexes turn a racing duplicate into "no row returned".
INSERT INTO etl_jobs (
    id, status, source, filename, object_key, scraper_revision, ingest_key, chunk_size,
    source_etag, source_last_modified, source_size, supersedes_job_id, mode
) VALUES (
    %(id)s, 'pending', %(source)s, %(filename)s, %(object_key)s, %(scraper_revision)s,
    %(ingest_key)s, %(chunk_size)s, %(source_etag)s, %(source_last_modified)s, %(source_size)s,
    %(supersedes_job_id)s, %(mode)s
)
ON CONFLICT DO NOTHING
RETURNING id
