-- Share-lock a running job for the caller's transaction: a job that left the running state is
-- not returned, and it cannot be ended (or published) until the transaction is over.
SELECT id, apply_partitions FROM etl_jobs WHERE id = %(id)s AND status = 'running' FOR SHARE
