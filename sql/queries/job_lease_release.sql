-- Give back the job's liveness lease (the job is final, or the run refused it).
SELECT pg_advisory_unlock(%(namespace)s, %(key)s) AS released
