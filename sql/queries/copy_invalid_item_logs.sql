-- Stream a chunk's rejected rows (with their errors) into the invalid-row log.
COPY invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data) FROM STDIN
