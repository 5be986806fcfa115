-- Whether any session of this database holds the job's liveness lease. Reads pg_locks, so
-- looking never takes the lock (a runner starting at that moment is never refused by it).
SELECT EXISTS (
    SELECT 1
    FROM pg_locks
    WHERE locktype = 'advisory'
        AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = %(namespace)s::bigint::oid
        AND objid = %(key)s::bigint::oid
        AND objsubid = 2
) AS held
