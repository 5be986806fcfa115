-- Mark a locked ledger row completed with its counts, in the transaction that did the work.
UPDATE etl_job_chunks
SET status = 'completed',
    attempts = attempts + 1,
    rows_processed = %(processed)s,
    rows_valid = %(valid)s,
    rows_invalid = %(invalid)s,
    items_upserted = %(upserted)s,
    embedding_failures = %(embedding_failures)s,
    started_at = coalesce(%(started_at)s, started_at),
    finished_at = clock_timestamp(),
    error_kind = NULL,
    error_message = NULL
WHERE job_id = %(job_id)s AND phase = %(phase)s AND chunk_index = %(index)s
RETURNING *
