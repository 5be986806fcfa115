-- How many chunk-phase ledger rows of a job are completed.
SELECT count(*) AS n
FROM etl_job_chunks
WHERE job_id = %(job_id)s AND phase = 'chunk' AND status = 'completed'
