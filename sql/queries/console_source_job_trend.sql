-- One source's jobs since a time, oldest first: rows read, accepted, rejected (its trend).
SELECT id, created_at, status::text AS status, mode, total_processed, total_valid,
    total_invalid,
    CASE WHEN total_processed > 0 THEN total_invalid::float8 / total_processed END
        AS invalid_share
FROM etl_jobs
WHERE source = %(source)s AND created_at >= %(since)s
ORDER BY created_at
LIMIT %(limit)s
