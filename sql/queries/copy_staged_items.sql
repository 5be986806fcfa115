-- Stream a chunk's valid rows into the staging table.
COPY etl_staged_items (job_id, record_ordinal, chunk_index, sku, item) FROM STDIN
