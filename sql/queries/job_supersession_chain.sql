-- The supersession chain through one job, in both directions: what it replaces (older) and
-- what replaced it (newer), ordered from the oldest to the newest job. `relation` reads from
-- the given job's side: it 'replaces' the older entries and is 'replaced_by' the newer ones.
WITH RECURSIVE older AS (
    SELECT id, supersedes_job_id, 0 AS depth FROM etl_jobs WHERE id = %(job_id)s
    UNION ALL
    SELECT j.id, j.supersedes_job_id, o.depth - 1
    FROM etl_jobs j JOIN older o ON j.id = o.supersedes_job_id
), newer AS (
    SELECT id, supersedes_job_id, 0 AS depth FROM etl_jobs WHERE id = %(job_id)s
    UNION ALL
    SELECT j.id, j.supersedes_job_id, n.depth + 1
    FROM etl_jobs j JOIN newer n ON j.supersedes_job_id = n.id
)
SELECT c.depth, j.id, j.status, j.mode, j.created_at, j.completed_at, j.supersedes_job_id,
    CASE WHEN c.depth < 0 THEN 'replaces' WHEN c.depth > 0 THEN 'replaced_by' ELSE 'self' END
        AS relation
FROM (SELECT * FROM older UNION SELECT * FROM newer) c
JOIN etl_jobs j ON j.id = c.id
ORDER BY c.depth, j.created_at
