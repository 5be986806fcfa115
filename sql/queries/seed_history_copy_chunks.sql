-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of etl_job_chunks (the ledger).
COPY etl_job_chunks (
    job_id, phase, chunk_index, byte_start, byte_end, first_record, record_count, status,
    attempts, rows_processed, rows_valid, rows_invalid, items_upserted, embedding_failures,
    started_at, finished_at, error_kind, error_message
) FROM STDIN
