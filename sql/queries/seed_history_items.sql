-- Seeded catalog items, set-based: `counts[i]` items last written by job `job_ids[i]` of
-- source `sources[i]`, with SKUs unique per source.
INSERT INTO catalog_items (
    name, product_url, sku, price, currency, availability, brand, review_count,
    source_version, last_job_id, created_at, updated_at
)
SELECT
    'Seeded item ' || p.source || ' #' || g,
    'https://' || p.source || '.example/p/' || g,
    'SEED-' || upper(p.source) || '-' || lpad(g::text, 7, '0'),
    round((5 + mod(g * 7919, 50000) / 100.0)::numeric, 2),
    'USD',
    (ARRAY['in_stock', 'in_stock', 'in_stock', 'out_of_stock', 'preorder']::availability[])
        [1 + mod(g, 5)],
    initcap(p.source),
    mod(g, 120),
    j.completed_at,
    p.job_id,
    j.completed_at,
    j.completed_at
FROM unnest(%(job_ids)s::uuid[], %(counts)s::int[], %(sources)s::text[])
    AS p (job_id, n, source)
JOIN etl_jobs j ON j.id = p.job_id
CROSS JOIN LATERAL generate_series(1, p.n) AS g
