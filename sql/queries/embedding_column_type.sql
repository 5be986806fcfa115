-- The type of `catalog_items.embedding`: pgvector's `vector(n)` or the `real[]` fallback
-- (no row before the table exists).
SELECT format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
WHERE a.attrelid = to_regclass('catalog_items') AND a.attname = 'embedding'
  AND NOT a.attisdropped
