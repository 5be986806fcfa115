-- Record a failed attempt of a chunk or apply partition (its work was rolled back).
INSERT INTO etl_job_chunks (job_id, phase, chunk_index, status, attempts, started_at,
    finished_at, error_kind, error_message)
VALUES (%(job_id)s, %(phase)s, %(index)s, 'failed', 1, now(), now(), %(kind)s, %(message)s)
ON CONFLICT (job_id, phase, chunk_index) DO UPDATE
SET status = 'failed',
    attempts = etl_job_chunks.attempts + 1,
    finished_at = now(),
    error_kind = EXCLUDED.error_kind,
    error_message = EXCLUDED.error_message
WHERE etl_job_chunks.status <> 'completed'
