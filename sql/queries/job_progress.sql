-- Chunks of a job completed so far, against the planned total (for progress bars).
SELECT j.chunks_total AS total,
    count(c.*) FILTER (WHERE c.phase = 'chunk' AND c.status = 'completed') AS done
FROM etl_jobs j
LEFT JOIN etl_job_chunks c ON c.job_id = j.id
WHERE j.id = %(job_id)s
GROUP BY j.chunks_total
