COPY invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data, created_at)
FROM STDIN
