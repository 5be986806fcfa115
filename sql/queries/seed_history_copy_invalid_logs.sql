-- Seeded history (catalog_lib/demo/history.py): bulk-load generated rows of invalid_item_logs.
COPY invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data, created_at)
FROM STDIN
