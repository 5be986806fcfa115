-- Store the independent record count; delta = verified - processed.
UPDATE etl_jobs
SET verified_row_count = %(n)s,
    verified_at = %(at)s,
    reconcile_delta = %(n)s - total_processed
WHERE id = %(id)s
RETURNING reconcile_delta
