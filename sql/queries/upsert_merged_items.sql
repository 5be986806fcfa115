-- Publish a job's prepared (merged) items, column for column, guarded by the source file's version: a row is never
-- replaced with data from an older file; the same version re-applies (repairs are
-- deterministic). Runs in the job's ONE publish transaction; each apply partition's ledger row
-- gets the number of items it upserted.
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
), provenance AS (
    INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id)
    SELECT id, %(job_id)s FROM upserted
    ON CONFLICT DO NOTHING
), per_partition AS (
    UPDATE etl_job_chunks l
    SET items_upserted = n.upserted
    FROM (
        SELECT p.apply_partition, count(*) AS upserted
        FROM upserted u
        JOIN etl_prepared_items p ON p.job_id = %(job_id)s AND p.sku = u.sku
        GROUP BY p.apply_partition
    ) n
    WHERE l.job_id = %(job_id)s AND l.phase = 'apply' AND l.chunk_index = n.apply_partition
)
SELECT count(*) AS upserted FROM upserted
