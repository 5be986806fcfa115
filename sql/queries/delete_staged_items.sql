-- Drop a finished job's staged rows (in the transaction that completes the job).
DELETE FROM etl_staged_items WHERE job_id = %(job_id)s
