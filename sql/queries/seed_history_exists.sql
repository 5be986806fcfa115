-- Whether seeded history is already in the database (its object keys share one prefix).
SELECT EXISTS (SELECT 1 FROM etl_jobs WHERE object_key LIKE %(prefix)s) AS seeded
