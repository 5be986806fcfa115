-- Per-source catalog quality (domain-spec §5.11) plus each source's two latest completed jobs.
-- An item belongs to the source of the job behind its most recent provenance row; the source
-- filter applies after attribution. Sources with completed jobs but no items are included, so
-- a file whose rows were all rejected still shows up (with its row-count baseline).
WITH attributed AS (
    SELECT DISTINCT ON (p.catalog_item_id) p.catalog_item_id AS item_id, j.source
    FROM catalog_item_etl_jobs p
    JOIN etl_jobs j ON j.id = p.etl_job_id
    ORDER BY p.catalog_item_id, p.created_at DESC, p.id DESC
), items AS (
    SELECT a.source,
        count(*) AS total_items,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY c.price::float8) AS median_price,
        min(c.price) FILTER (WHERE c.price > 0) AS min_price,
        max(c.price) AS max_price,
        count(*) FILTER (WHERE c.price IS NULL) AS null_price,
        count(*) FILTER (WHERE c.brand IS NULL OR c.brand = '') AS null_brand,
        count(*) FILTER (WHERE c.description IS NULL OR c.description = '') AS null_description,
        count(*) FILTER (WHERE c.weight IS NULL) AS null_weight,
        count(*) FILTER (
            WHERE c.images IS NULL
                OR (jsonb_typeof(c.images) = 'array' AND jsonb_array_length(c.images) = 0)
        ) AS null_images,
        count(*) FILTER (WHERE c.availability IS NULL) AS null_availability,
        -- numeric keeps the scale it was stored with: `1.299` has scale 3, `4.5` scale 1.
        count(*) FILTER (
            WHERE c.price IS NOT NULL AND c.price < %(decimal_bug_price)s AND scale(c.price) = 3
        ) AS decimal_bug_count,
        count(*) FILTER (
            WHERE c.weight IS NOT NULL
                AND (c.weight < %(weight_min_grams)s OR c.weight > %(weight_max_grams)s)
        ) AS bad_weight_count,
        count(*) FILTER (WHERE c.name IS NULL OR c.name = '') AS empty_name_count
    FROM attributed a
    JOIN catalog_items c ON c.id = a.item_id
    GROUP BY a.source
), ranked_jobs AS (
    SELECT j.source, j.id, j.completed_at, j.total_processed, j.total_valid, j.total_invalid,
        j.reconcile_delta, coalesce(j.reconcile_note LIKE 'unverified:%%', false) AS unverified,
        row_number() OVER (
            PARTITION BY j.source ORDER BY j.completed_at DESC NULLS LAST, j.created_at DESC
        ) AS rank
    FROM etl_jobs j
    WHERE j.status = 'completed'
), jobs AS (
    SELECT source,
        max(id::text) FILTER (WHERE rank = 1)::uuid AS last_job_id,
        max(completed_at) FILTER (WHERE rank = 1) AS last_completed_at,
        max(total_processed) FILTER (WHERE rank = 1) AS last_processed,
        max(total_valid) FILTER (WHERE rank = 1) AS last_valid,
        max(total_invalid) FILTER (WHERE rank = 1) AS last_invalid,
        max(reconcile_delta) FILTER (WHERE rank = 1) AS last_reconcile_delta,
        coalesce(bool_or(unverified) FILTER (WHERE rank = 1), false) AS last_unverified,
        max(id::text) FILTER (WHERE rank = 2)::uuid AS previous_job_id,
        max(total_processed) FILTER (WHERE rank = 2) AS previous_processed,
        max(total_valid) FILTER (WHERE rank = 2) AS previous_valid,
        max(total_invalid) FILTER (WHERE rank = 2) AS previous_invalid
    FROM ranked_jobs
    WHERE rank <= 2
    GROUP BY source
)
SELECT coalesce(i.source, j.source) AS source,
    coalesce(i.total_items, 0) AS total_items,
    i.median_price, i.min_price, i.max_price,
    coalesce(i.null_price, 0) AS null_price,
    coalesce(i.null_brand, 0) AS null_brand,
    coalesce(i.null_description, 0) AS null_description,
    coalesce(i.null_weight, 0) AS null_weight,
    coalesce(i.null_images, 0) AS null_images,
    coalesce(i.null_availability, 0) AS null_availability,
    coalesce(i.decimal_bug_count, 0) AS decimal_bug_count,
    coalesce(i.bad_weight_count, 0) AS bad_weight_count,
    coalesce(i.empty_name_count, 0) AS empty_name_count,
    j.last_job_id, j.last_completed_at,
    floor(extract(epoch FROM (now() - j.last_completed_at)) / 86400)::int AS days_stale,
    j.last_processed, j.last_valid, j.last_invalid, j.last_reconcile_delta,
    coalesce(j.last_unverified, false) AS last_unverified,
    j.previous_job_id, j.previous_processed, j.previous_valid, j.previous_invalid
FROM items i
FULL JOIN jobs j ON j.source = i.source
WHERE %(source)s::text IS NULL OR coalesce(i.source, j.source) = %(source)s
ORDER BY 1
