-- Merge one SKU-hash partition of a job's staged rows across the WHOLE file: per SKU and
-- column, the non-NULL value of the highest record ordinal wins (staged rows hold NULL where a
-- row had no value), so the result does not depend on chunk size or on the order chunks were
-- loaded in. Partition p of N is the `sku_hash` range [p * 2^31 / N, (p + 1) * 2^31 / N), read
-- through the (job_id, sku_hash) index: a partition reads only its own rows. SKUs that occur
-- once (most of them) are copied as they are; only repeated SKUs are aggregated.
WITH part AS MATERIALIZED (
    -- The repeat count comes from a window, not from a join with the repeated SKUs: a freshly
    -- staged table has no statistics, and the planner then nests loops over such a join.
    SELECT s.*, count(*) OVER (PARTITION BY s.sku) AS occurrences
    FROM etl_staged_items s
    WHERE s.job_id = %(job_id)s
        AND s.sku_hash >= (%(partition)s::bigint * 2147483648) / %(partitions)s::bigint
        AND s.sku_hash < ((%(partition)s::bigint + 1) * 2147483648) / %(partitions)s::bigint
)
INSERT INTO _merged (
    sku, name, product_url, weight, weight_unit, description, categories, images, brand, model,
    rating_value, color, size, price, availability, seller, product_sku, material, currency,
    condition, review_count, variants, techs, links, reviews, qas, faqs
)
SELECT
    p.sku, p.name, p.product_url, p.weight, p.weight_unit, p.description, p.categories,
    p.images, p.brand, p.model, p.rating_value, p.color, p.size, p.price, p.availability,
    p.seller, p.product_sku, p.material, p.currency, p.condition, p.review_count, p.variants,
    p.techs, p.links, p.reviews, p.qas, p.faqs
FROM part p
WHERE p.occurrences = 1
UNION ALL
SELECT p.sku,
    (array_agg(p.name ORDER BY p.record_ordinal DESC) FILTER (WHERE p.name IS NOT NULL))[1],
    (array_agg(p.product_url ORDER BY p.record_ordinal DESC) FILTER (WHERE p.product_url IS NOT NULL))[1],
    (array_agg(p.weight ORDER BY p.record_ordinal DESC) FILTER (WHERE p.weight IS NOT NULL))[1],
    (array_agg(p.weight_unit ORDER BY p.record_ordinal DESC) FILTER (WHERE p.weight_unit IS NOT NULL))[1],
    (array_agg(p.description ORDER BY p.record_ordinal DESC) FILTER (WHERE p.description IS NOT NULL))[1],
    (array_agg(p.categories ORDER BY p.record_ordinal DESC) FILTER (WHERE p.categories IS NOT NULL))[1],
    (array_agg(p.images ORDER BY p.record_ordinal DESC) FILTER (WHERE p.images IS NOT NULL))[1],
    (array_agg(p.brand ORDER BY p.record_ordinal DESC) FILTER (WHERE p.brand IS NOT NULL))[1],
    (array_agg(p.model ORDER BY p.record_ordinal DESC) FILTER (WHERE p.model IS NOT NULL))[1],
    (array_agg(p.rating_value ORDER BY p.record_ordinal DESC) FILTER (WHERE p.rating_value IS NOT NULL))[1],
    (array_agg(p.color ORDER BY p.record_ordinal DESC) FILTER (WHERE p.color IS NOT NULL))[1],
    (array_agg(p.size ORDER BY p.record_ordinal DESC) FILTER (WHERE p.size IS NOT NULL))[1],
    (array_agg(p.price ORDER BY p.record_ordinal DESC) FILTER (WHERE p.price IS NOT NULL))[1],
    (array_agg(p.availability ORDER BY p.record_ordinal DESC) FILTER (WHERE p.availability IS NOT NULL))[1],
    (array_agg(p.seller ORDER BY p.record_ordinal DESC) FILTER (WHERE p.seller IS NOT NULL))[1],
    (array_agg(p.product_sku ORDER BY p.record_ordinal DESC) FILTER (WHERE p.product_sku IS NOT NULL))[1],
    (array_agg(p.material ORDER BY p.record_ordinal DESC) FILTER (WHERE p.material IS NOT NULL))[1],
    (array_agg(p.currency ORDER BY p.record_ordinal DESC) FILTER (WHERE p.currency IS NOT NULL))[1],
    (array_agg(p.condition ORDER BY p.record_ordinal DESC) FILTER (WHERE p.condition IS NOT NULL))[1],
    (array_agg(p.review_count ORDER BY p.record_ordinal DESC) FILTER (WHERE p.review_count IS NOT NULL))[1],
    (array_agg(p.variants ORDER BY p.record_ordinal DESC) FILTER (WHERE p.variants IS NOT NULL))[1],
    (array_agg(p.techs ORDER BY p.record_ordinal DESC) FILTER (WHERE p.techs IS NOT NULL))[1],
    (array_agg(p.links ORDER BY p.record_ordinal DESC) FILTER (WHERE p.links IS NOT NULL))[1],
    (array_agg(p.reviews ORDER BY p.record_ordinal DESC) FILTER (WHERE p.reviews IS NOT NULL))[1],
    (array_agg(p.qas ORDER BY p.record_ordinal DESC) FILTER (WHERE p.qas IS NOT NULL))[1],
    (array_agg(p.faqs ORDER BY p.record_ordinal DESC) FILTER (WHERE p.faqs IS NOT NULL))[1]
FROM part p
WHERE p.occurrences > 1
GROUP BY p.sku
