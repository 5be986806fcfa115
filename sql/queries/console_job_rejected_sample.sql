-- A sample of a job's rejected rows: where they were and why (values are mapped items).
SELECT chunk_index, record_ordinal, errors, raw_data
FROM invalid_item_logs
WHERE job_id = %(job_id)s
ORDER BY record_ordinal
LIMIT %(limit)s
