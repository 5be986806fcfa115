-- A retry adopts the completed chunks of the job it supersedes (same object version and
-- byte ranges) whose staged rows that job still holds in full: their ledger rows and rejected
-- rows are copied and their staged rows MOVED to the retry (never copied), in one transaction.
WITH candidates AS (
    SELECT old.*
    FROM etl_job_chunks old
    JOIN unnest(%(chunk_indexes)s::int[], %(byte_starts)s::bigint[], %(byte_ends)s::bigint[])
        AS plan(chunk_index, byte_start, byte_end)
        ON plan.chunk_index = old.chunk_index
        AND plan.byte_start = old.byte_start AND plan.byte_end = old.byte_end
    WHERE old.job_id = %(from_job_id)s AND old.phase = 'chunk' AND old.status = 'completed'
        AND old.rows_valid = (
            SELECT count(*) FROM etl_staged_items s
            WHERE s.job_id = %(from_job_id)s AND s.chunk_index = old.chunk_index
        )
), adopted AS (
    INSERT INTO etl_job_chunks (
        job_id, phase, chunk_index, byte_start, byte_end, first_record, record_count, status,
        attempts, rows_processed, rows_valid, rows_invalid, started_at, finished_at
    )
    SELECT %(job_id)s, 'chunk', c.chunk_index, c.byte_start, c.byte_end,
        c.first_record, c.record_count, 'completed', 0, c.rows_processed,
        c.rows_valid, c.rows_invalid, c.started_at, c.finished_at
    FROM candidates c
    ON CONFLICT DO NOTHING
    RETURNING chunk_index
), staged AS (
    UPDATE etl_staged_items s
    SET job_id = %(job_id)s
    WHERE s.job_id = %(from_job_id)s AND s.chunk_index IN (SELECT chunk_index FROM adopted)
), invalid AS (
    INSERT INTO invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data)
    SELECT %(job_id)s, l.chunk_index, l.record_ordinal, l.errors, l.raw_data
    FROM invalid_item_logs l
    WHERE l.job_id = %(from_job_id)s AND l.chunk_index IN (SELECT chunk_index FROM adopted)
)
SELECT count(*) AS adopted FROM adopted
