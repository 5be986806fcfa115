-- Delete one bounded batch of staged rows still held by failed or cancelled jobs that ended
-- before the cutoff. Such a job never published them; only a retry could still adopt them, and
-- one is not expected after the retention period (DESIGN: staged rows are "pruned with other
-- old job data"). Completed jobs hold no staged rows: publish deletes them.
DELETE FROM etl_staged_items
WHERE (job_id, record_ordinal) IN (
    SELECT s.job_id, s.record_ordinal
    FROM etl_staged_items s
    JOIN etl_jobs j ON j.id = s.job_id
    WHERE j.status IN ('failed', 'cancelled')
        AND j.completed_at < %(cutoff)s
    LIMIT %(batch_size)s
    FOR UPDATE OF s SKIP LOCKED
)
