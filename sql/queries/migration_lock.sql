-- Serialise concurrent schema upgrades of one database (session advisory lock).
SELECT pg_advisory_lock(%(key)s)
