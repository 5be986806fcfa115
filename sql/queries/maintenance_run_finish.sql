-- Close a maintenance run with its outcome, result object and duration.
UPDATE maintenance_runs
SET status = %(status)s,
    finished_at = clock_timestamp(),
    duration_ms = %(duration_ms)s,
    result = %(result)s,
    error_message = %(error_message)s
WHERE id = %(id)s AND status = 'running'
RETURNING id
