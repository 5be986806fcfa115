-- A job that ended failed or cancelled published nothing, and its prepared items were dropped
-- with it: its completed apply partitions are marked discarded, so a re-run prepares them again.
UPDATE etl_job_chunks
SET status = 'failed',
    items_upserted = 0,
    embedding_failures = 0,
    finished_at = clock_timestamp(),
    error_kind = 'discarded',
    error_message = 'the job ended before publishing; its prepared items were dropped'
WHERE job_id = %(job_id)s AND phase = 'apply' AND status = 'completed'
