-- running -> completed, guarded: a job that left the running state is not touched.
UPDATE etl_jobs
SET status = 'completed', completed_at = now()
WHERE id = %(id)s AND status = 'running'
RETURNING id
