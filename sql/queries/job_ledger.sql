-- A job's ledger: chunk rows by index, then apply partitions.
SELECT job_id, phase, chunk_index, status, byte_start, byte_end, first_record, record_count,
    attempts, rows_processed, rows_valid, rows_invalid, items_upserted, embedding_failures,
    started_at, finished_at, error_kind, error_message
FROM etl_job_chunks
WHERE job_id = %(job_id)s
ORDER BY phase DESC, chunk_index
