-- Job totals are sums over the ledger, never incremented counters.
UPDATE etl_jobs j
SET total_processed = t.processed,
    total_valid = t.valid,
    total_invalid = t.invalid,
    total_embedding_failures = t.embedding_failures,
    items_upserted = t.upserted
FROM (
    SELECT
        coalesce(sum(rows_processed) FILTER (WHERE phase = 'chunk'), 0) AS processed,
        coalesce(sum(rows_valid) FILTER (WHERE phase = 'chunk'), 0) AS valid,
        coalesce(sum(rows_invalid) FILTER (WHERE phase = 'chunk'), 0) AS invalid,
        coalesce(sum(embedding_failures) FILTER (WHERE phase = 'apply'), 0)
            AS embedding_failures,
        coalesce(sum(items_upserted) FILTER (WHERE phase = 'apply'), 0) AS upserted
    FROM etl_job_chunks
    WHERE job_id = %(job_id)s AND status = 'completed'
) t
WHERE j.id = %(job_id)s
RETURNING j.total_processed, j.total_valid, j.total_invalid, j.total_embedding_failures,
    j.items_upserted
