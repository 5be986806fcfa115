-- Jobs whose id falls in [low, high]: the ids that start with a typed prefix (two at most,
-- enough to tell unique from ambiguous). A range on the primary key, no text scan.
SELECT id
FROM etl_jobs
WHERE id BETWEEN %(low)s AND %(high)s
ORDER BY id
LIMIT 2
