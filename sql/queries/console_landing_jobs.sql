-- The newest job of each given ingest identity (source + object key + ETag).
SELECT DISTINCT ON (ingest_key) ingest_key, id, status::text AS status, created_at,
    completed_at
FROM etl_jobs
WHERE ingest_key = ANY(%(keys)s::text[])
ORDER BY ingest_key, created_at DESC, id
