-- Take the job's liveness lease: a session advisory lock (namespace, key) held by the process
-- running the job for the job's whole life. False when another session holds it.
SELECT pg_try_advisory_lock(%(namespace)s, %(key)s) AS acquired
