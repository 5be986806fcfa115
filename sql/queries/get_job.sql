-- One job row by id.
SELECT * FROM etl_jobs WHERE id = %(job_id)s
