-- Store the independent record count (NULL when it could not be made), the counter that made
-- it and its note; delta = verified - processed (NULL when unverified).
UPDATE etl_jobs
SET verified_row_count = %(n)s,
    verified_at = %(at)s,
    reconcile_delta = %(n)s - total_processed,
    reconcile_counter = %(counter)s,
    reconcile_note = %(note)s
WHERE id = %(id)s
RETURNING reconcile_delta
