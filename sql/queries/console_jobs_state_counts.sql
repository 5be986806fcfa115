-- How many jobs match the Jobs page's filters, per state (the state filter itself is left
-- out, so the counts show what each state choice would list).
SELECT status::text AS status, count(*) AS jobs
FROM etl_jobs
WHERE (%(sources)s::text[] IS NULL OR source = ANY(%(sources)s::text[]))
    AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s::timestamptz)
    AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s::timestamptz)
    AND (%(revision)s::text IS NULL OR scraper_revision = %(revision)s::text)
GROUP BY status
