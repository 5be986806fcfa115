-- Write one apply partition's merged items, with their new embeddings, as the job's prepared
-- items (nothing is published here). Re-preparing a partition replaces its rows.
WITH prepared AS (
    INSERT INTO etl_prepared_items (
        job_id, sku, apply_partition, name, product_url, weight, weight_unit, description,
        categories, images, brand, model, rating_value, color, size, price, availability,
        seller, product_sku, material, currency, condition, review_count, variants, techs,
        links, reviews, qas, faqs, embedding, embedding_text_hash
    )
    SELECT %(job_id)s, m.sku, %(partition)s,
        m.name, m.product_url, m.weight, m.weight_unit, m.description, m.categories, m.images,
        m.brand, m.model, m.rating_value, m.color, m.size, m.price, m.availability, m.seller,
        m.product_sku, m.material, m.currency, m.condition, m.review_count, m.variants, m.techs,
        m.links, m.reviews, m.qas, m.faqs, v.embedding, v.text_hash
    FROM _merged m
    LEFT JOIN _vectors v ON v.sku = m.sku
    ORDER BY m.sku
    ON CONFLICT (job_id, sku) DO UPDATE SET
        apply_partition = EXCLUDED.apply_partition,
        name = EXCLUDED.name,
        product_url = EXCLUDED.product_url,
        weight = EXCLUDED.weight,
        weight_unit = EXCLUDED.weight_unit,
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
        embedding = EXCLUDED.embedding,
        embedding_text_hash = EXCLUDED.embedding_text_hash
    RETURNING 1
)
SELECT count(*) AS prepared FROM prepared
