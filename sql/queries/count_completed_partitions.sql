-- How many apply partitions of a job are completed (prepared) in the ledger.
SELECT count(*) AS n
FROM etl_job_chunks
WHERE job_id = %(job_id)s AND phase = 'apply' AND status = 'completed'
