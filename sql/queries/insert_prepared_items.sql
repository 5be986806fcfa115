-- Write one apply partition's merged items, with their new embeddings, as the job's prepared
-- items (nothing is published here). Re-preparing a partition replaces its rows.
WITH prepared AS (
    INSERT INTO etl_prepared_items (
        job_id, sku, apply_partition, item, embedding, embedding_text_hash
    )
    SELECT %(job_id)s, m.sku, %(partition)s, m.item, v.embedding, v.text_hash
    FROM _merged m
    LEFT JOIN _vectors v ON v.sku = m.sku
    ORDER BY m.sku
    ON CONFLICT (job_id, sku) DO UPDATE SET
        apply_partition = EXCLUDED.apply_partition,
        item = EXCLUDED.item,
        embedding = EXCLUDED.embedding,
        embedding_text_hash = EXCLUDED.embedding_text_hash
    RETURNING 1
)
SELECT count(*) AS prepared FROM prepared
