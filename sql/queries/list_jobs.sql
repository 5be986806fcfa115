-- Jobs, newest first, optionally filtered by source and status (whole rows: `EtlJob`s);
-- `not_replaced` keeps only jobs no retry or repair supersedes yet.
SELECT *
FROM etl_jobs
WHERE (%(source)s::text IS NULL OR source = %(source)s)
    AND (%(status)s::text IS NULL OR status::text = %(status)s)
    AND (
        NOT %(not_replaced)s::boolean
        OR NOT EXISTS (SELECT 1 FROM etl_jobs s WHERE s.supersedes_job_id = etl_jobs.id)
    )
ORDER BY created_at DESC
LIMIT %(limit)s
