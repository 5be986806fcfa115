-- The transaction's new embeddings, shaped like the catalog's embedding columns.
CREATE TEMP TABLE _vectors ON COMMIT DROP AS
SELECT sku, embedding, embedding_text_hash AS text_hash FROM catalog_items
WITH NO DATA
