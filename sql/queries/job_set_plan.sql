-- Record how the object was split; the apply partition count is fixed at the first plan.
UPDATE etl_jobs
SET chunks_total = %(chunks_total)s,
    chunk_size = %(chunk_size)s,
    apply_partitions = coalesce(apply_partitions, %(apply_partitions)s)
WHERE id = %(id)s
RETURNING apply_partitions
