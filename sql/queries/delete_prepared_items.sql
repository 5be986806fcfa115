-- Drop a job's prepared items (in the transaction that publishes them, or ends the job).
DELETE FROM etl_prepared_items WHERE job_id = %(job_id)s
