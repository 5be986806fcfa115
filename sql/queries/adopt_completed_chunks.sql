-- A retry adopts the completed chunks of the job it supersedes (same object version and
-- byte ranges): copy their ledger rows, staged rows and invalid rows, in one transaction.
WITH adopted AS (
    INSERT INTO etl_job_chunks (
        job_id, phase, chunk_index, byte_start, byte_end, first_record, record_count, status,
        attempts, rows_processed, rows_valid, rows_invalid, started_at, finished_at
    )
    SELECT %(job_id)s, 'chunk', old.chunk_index, old.byte_start, old.byte_end,
        old.first_record, old.record_count, 'completed', 0, old.rows_processed,
        old.rows_valid, old.rows_invalid, old.started_at, old.finished_at
    FROM etl_job_chunks old
    JOIN unnest(%(chunk_indexes)s::int[], %(byte_starts)s::bigint[], %(byte_ends)s::bigint[])
        AS plan(chunk_index, byte_start, byte_end)
        ON plan.chunk_index = old.chunk_index
        AND plan.byte_start = old.byte_start AND plan.byte_end = old.byte_end
    WHERE old.job_id = %(from_job_id)s AND old.phase = 'chunk' AND old.status = 'completed'
    ON CONFLICT DO NOTHING
    RETURNING chunk_index
), staged AS (
    INSERT INTO etl_staged_items (job_id, record_ordinal, chunk_index, sku, item)
    SELECT %(job_id)s, s.record_ordinal, s.chunk_index, s.sku, s.item
    FROM etl_staged_items s
    WHERE s.job_id = %(from_job_id)s AND s.chunk_index IN (SELECT chunk_index FROM adopted)
), invalid AS (
    INSERT INTO invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data)
    SELECT %(job_id)s, l.chunk_index, l.record_ordinal, l.errors, l.raw_data
    FROM invalid_item_logs l
    WHERE l.job_id = %(from_job_id)s AND l.chunk_index IN (SELECT chunk_index FROM adopted)
)
SELECT count(*) AS adopted FROM adopted
