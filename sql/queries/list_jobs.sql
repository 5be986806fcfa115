-- Jobs, newest first, optionally filtered by source and status (whole rows: `EtlJob`s).
SELECT *
FROM etl_jobs
WHERE (%(source)s::text IS NULL OR source = %(source)s)
    AND (%(status)s::text IS NULL OR status::text = %(status)s)
ORDER BY created_at DESC
LIMIT %(limit)s
