-- The transaction's new embeddings of one apply partition (real[]: prepared items store them
-- so; pgvector casts them to `vector` on publish, value for value).
CREATE TEMP TABLE _vectors (
    sku text PRIMARY KEY,
    embedding real[] NOT NULL,
    text_hash text NOT NULL
) ON COMMIT DROP
