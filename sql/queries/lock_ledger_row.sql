-- Create the ledger row of (job, phase, index) if it does not exist yet; the caller then
-- locks it with select_ledger_row_for_update in the same transaction.
INSERT INTO etl_job_chunks (job_id, phase, chunk_index, byte_start, byte_end, first_record,
    record_count, status, started_at)
VALUES (%(job_id)s, %(phase)s, %(index)s, %(byte_start)s, %(byte_end)s, %(first_record)s,
    %(record_count)s, 'running', now())
ON CONFLICT DO NOTHING
