-- Retention and audit runs (or one kind), newest first.
SELECT id, kind, started_at, finished_at, duration_ms, status, parameters, result,
    error_message
FROM maintenance_runs
WHERE (%(kind)s::text IS NULL OR kind = %(kind)s::text)
ORDER BY started_at DESC, id DESC
LIMIT %(limit)s
