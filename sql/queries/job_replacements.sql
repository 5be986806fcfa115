-- For each of the given jobs that a retry or repair supersedes: the newest such job.
SELECT DISTINCT ON (supersedes_job_id) supersedes_job_id AS job_id, id AS replaced_by
FROM etl_jobs
WHERE supersedes_job_id = ANY(%(job_ids)s::uuid [])
ORDER BY supersedes_job_id, created_at DESC
