-- The completed ledger row of (job, phase, index), if any.
SELECT *
FROM etl_job_chunks
WHERE job_id = %(job_id)s AND phase = %(phase)s AND chunk_index = %(index)s
  AND status = 'completed'
