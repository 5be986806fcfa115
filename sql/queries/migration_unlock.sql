-- Release the schema-upgrade lock taken by migration_lock.
SELECT pg_advisory_unlock(%(key)s)
