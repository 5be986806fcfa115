-- Jobs whose id falls in [low, high]: the ids that start with a typed prefix. A range on the
-- primary key (no text scan); `limit` caps the candidates an ambiguous prefix lists.
SELECT id, source, status, created_at
FROM etl_jobs
WHERE id BETWEEN %(low)s AND %(high)s
ORDER BY created_at DESC
LIMIT %(limit)s
