-- Publish a job's prepared (merged) items, column for column, guarded by the source file's version: a row is never
-- replaced with data from an older file; the same version re-applies (repairs are
-- deterministic). Runs in the job's ONE publish transaction; each apply partition's ledger row
-- gets the number of items it upserted. Returns how many items were upserted and how many were
-- prepared: when they are equal, no stored row is newer than this file and
-- `fill_older_weights` has nothing to fill.
-- Ids are assigned in SKU order (`ORDER BY p.sku`); the publish plans this statement with
-- sorting disabled, so the prepared rows are read in their primary key order (job_id, sku)
-- instead of being sorted wide (a freshly written table has no statistics, and the planner
-- then sorts them, on disk beyond work_mem). The ORDER BY alone decides the order.
-- Columns follow upstream: new values replace old ones, except that a missing weight keeps
-- the stored one and a missing vector keeps the stored vector and its text hash. The stored
-- weight is the one of the NEWEST file that had a weight (`weight_source_version`); an older
-- file fills a missing weight through `fill_older_weights`, so the order files are applied in
-- never decides a weight.
WITH upserted AS (
    INSERT INTO catalog_items AS c (
        name, product_url, sku, weight, weight_unit, description, categories, images, brand,
        model, rating_value, color, size, price, availability, seller, product_sku, material,
        currency, condition, review_count, variants, techs, links, reviews, qas, faqs,
        embedding, embedding_text_hash, last_job_id, source_version, updated_at,
        weight_source_version
    )
    SELECT p.name, p.product_url, p.sku, p.weight, p.weight_unit, p.description, p.categories,
        p.images, p.brand, p.model, p.rating_value, p.color, p.size, p.price, p.availability,
        p.seller, p.product_sku, p.material, p.currency, p.condition,
        coalesce(p.review_count, 0), p.variants, p.techs, p.links, p.reviews, p.qas, p.faqs,
        p.embedding, p.embedding_text_hash, %(job_id)s, %(source_version)s, now(),
        CASE WHEN p.weight > 0 THEN %(source_version)s::timestamptz END
    FROM etl_prepared_items p
    WHERE p.job_id = %(job_id)s
    ORDER BY p.sku
    ON CONFLICT (sku) DO UPDATE SET
        name = EXCLUDED.name,
        product_url = EXCLUDED.product_url,
        weight = CASE WHEN EXCLUDED.weight > 0 THEN EXCLUDED.weight ELSE c.weight END,
        weight_unit = CASE WHEN EXCLUDED.weight > 0 THEN EXCLUDED.weight_unit
            ELSE c.weight_unit END,
        weight_source_version = CASE WHEN EXCLUDED.weight > 0
            THEN EXCLUDED.weight_source_version ELSE c.weight_source_version END,
        description = EXCLUDED.description,
        categories = EXCLUDED.categories,
        images = EXCLUDED.images,
        brand = EXCLUDED.brand,
        model = EXCLUDED.model,
        rating_value = EXCLUDED.rating_value,
        color = EXCLUDED.color,
        size = EXCLUDED.size,
        price = EXCLUDED.price,
        availability = EXCLUDED.availability,
        seller = EXCLUDED.seller,
        product_sku = EXCLUDED.product_sku,
        material = EXCLUDED.material,
        currency = EXCLUDED.currency,
        condition = EXCLUDED.condition,
        review_count = EXCLUDED.review_count,
        variants = EXCLUDED.variants,
        techs = EXCLUDED.techs,
        links = EXCLUDED.links,
        reviews = EXCLUDED.reviews,
        qas = EXCLUDED.qas,
        faqs = EXCLUDED.faqs,
        embedding = coalesce(EXCLUDED.embedding, c.embedding),
        embedding_text_hash = CASE WHEN EXCLUDED.embedding IS NOT NULL
            THEN EXCLUDED.embedding_text_hash ELSE c.embedding_text_hash END,
        last_job_id = EXCLUDED.last_job_id,
        source_version = EXCLUDED.source_version,
        updated_at = now()
    WHERE c.source_version <= EXCLUDED.source_version
    RETURNING c.id, c.sku
), first_provenance AS (
    -- The job's first provenance rows (the usual case: a job is published once) are inserted
    -- as they are; only a job that already has some (written before prepared items existed)
    -- needs the conflict check, which costs an index probe and a WAL record per row. Both
    -- statements see the provenance as it was before this one: exactly one of them writes.
    INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id)
    SELECT id, %(job_id)s FROM upserted
    WHERE NOT EXISTS (SELECT 1 FROM catalog_item_etl_jobs WHERE etl_job_id = %(job_id)s)
), more_provenance AS (
    INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id)
    SELECT id, %(job_id)s FROM upserted
    WHERE EXISTS (SELECT 1 FROM catalog_item_etl_jobs WHERE etl_job_id = %(job_id)s)
    ON CONFLICT DO NOTHING
), counts AS (
    -- Per apply partition: its prepared items, and how many of them were upserted (one is not
    -- when its stored row comes from a newer file).
    SELECT p.apply_partition, count(*) AS prepared, count(u.sku) AS upserted
    FROM etl_prepared_items p
    LEFT JOIN upserted u ON u.sku = p.sku
    WHERE p.job_id = %(job_id)s
    GROUP BY p.apply_partition
), per_partition AS (
    UPDATE etl_job_chunks l
    SET items_upserted = n.upserted
    FROM counts n
    WHERE l.job_id = %(job_id)s AND l.phase = 'apply' AND l.chunk_index = n.apply_partition
)
SELECT coalesce(sum(n.upserted), 0) AS upserted, coalesce(sum(n.prepared), 0) AS prepared
FROM counts n
