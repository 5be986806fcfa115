-- A retry or repair replaces a failed or cancelled job, which will never be published: drop the
-- staged rows it still holds (the chunks the retry adopted were moved to it, not copied).
DELETE FROM etl_staged_items s
USING etl_jobs o
WHERE s.job_id = %(from_job_id)s
    AND o.id = s.job_id
    AND o.status IN ('failed', 'cancelled')
