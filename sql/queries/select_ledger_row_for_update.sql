-- Lock one ledger row; a concurrent attempt of the same chunk waits here, then sees it done.
SELECT *
FROM etl_job_chunks
WHERE job_id = %(job_id)s AND phase = %(phase)s AND chunk_index = %(index)s
FOR UPDATE
