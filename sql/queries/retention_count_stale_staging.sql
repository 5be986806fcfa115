-- How many staged rows of failed or cancelled jobs that ended before the cutoff a retention run
-- would delete (the dry run's count, and what is left after a capped run).
SELECT count(*) AS n
FROM etl_staged_items s
JOIN etl_jobs j ON j.id = s.job_id
WHERE j.status IN ('failed', 'cancelled')
    AND j.completed_at < %(cutoff)s
