-- Merged items of the partition that this file may write (never older than the stored row),
-- with the columns the embedding text is built from (`rules/embedding_text.py`) and the
-- stored embedding-text hash so unchanged items are not embedded again.
SELECT m.sku, m.name, m.description, m.brand, m.model, m.categories, m.variants, m.techs,
    m.color, m.size, m.material, m.reviews, m.qas, m.faqs,
    c.embedding_text_hash AS stored_hash
FROM _merged m
LEFT JOIN catalog_items c ON c.sku = m.sku
WHERE c.sku IS NULL OR c.source_version <= %(source_version)s
ORDER BY m.sku
