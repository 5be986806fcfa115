-- Baseline, step 3: one set-based upsert into catalog_items (the product's own table, created by
-- the product's migrations on the same server). Validation is a WHERE clause over the raw text,
-- every cast is guarded so a bad cell becomes NULL instead of failing the statement, and
-- DISTINCT ON keeps the last row of each SKU: a table filled by one COPY and never updated is
-- scanned in insertion (= file) order, so the highest ctid is the latest record.
WITH cleaned AS (
    SELECT
        r.ctid AS position,
        btrim(r.name) AS name,
        btrim(r.product_url) AS product_url,
        btrim(r.sku) AS sku,
        r.brand,
        r.description,
        r.categories,
        r.images,
        -- "$1,234.50" (US) or "1.234,50 €" (EU) → a plain decimal literal, else NULL
        CASE
            WHEN r.price ~ '^\s*\$?\s*[0-9]{1,3}(,?[0-9]{3})*(\.[0-9]+)?\s*$'
                THEN regexp_replace(r.price, '[^0-9.]', '', 'g')
            WHEN r.price ~ '^\s*[0-9]{1,3}(\.?[0-9]{3})*(,[0-9]+)?\s*€?\s*$'
                THEN replace(regexp_replace(r.price, '[^0-9,]', '', 'g'), ',', '.')
        END AS price_text,
        nullif(btrim(r.price), '') AS price_raw,
        r.currency,
        r.availability,
        r.weight,
        r.weight_unit,
        r.rating_value,
        r.review_count,
        r.color,
        r.material,
        r.seller
    FROM baseline_raw AS r
)
INSERT INTO catalog_items AS t (
    name, product_url, sku, weight, weight_unit, description, categories, images, brand,
    rating_value, color, price, availability, seller, material, currency, review_count,
    source_version
)
SELECT DISTINCT ON (c.sku)
    c.name,
    c.product_url,
    c.sku,
    CASE WHEN c.weight ~ '^\s*[0-9]+(\.[0-9]+)?\s*$' THEN c.weight::double precision END,
    nullif(btrim(c.weight_unit), ''),
    btrim(regexp_replace(coalesce(c.description, ''), '[\r\n]+', ' ', 'g')),
    CASE
        WHEN pg_input_is_valid(c.categories, 'jsonb') THEN c.categories::jsonb
        WHEN nullif(btrim(c.categories), '') IS NOT NULL
            THEN to_jsonb(regexp_split_to_array(btrim(c.categories), '\s*,\s*'))
    END,
    CASE WHEN pg_input_is_valid(c.images, 'jsonb') THEN c.images::jsonb END,
    nullif(btrim(c.brand), ''),
    CASE
        WHEN c.rating_value ~ '^\s*[0-9]+(\.[0-9]+)?\s*$'
            THEN nullif(c.rating_value::double precision, 0)
    END,
    nullif(btrim(c.color), ''),
    c.price_text::numeric,
    CASE
        WHEN c.availability IN ('in_stock', 'out_of_stock', 'preorder')
            THEN c.availability::availability
    END,
    nullif(btrim(c.seller), ''),
    nullif(btrim(c.material), ''),
    coalesce(c.currency, ''),
    CASE WHEN c.review_count ~ '^\s*[0-9]{1,9}\s*$' THEN c.review_count::integer ELSE 0 END,
    now()
FROM cleaned AS c
WHERE c.name <> '' AND length(c.name) <= 500
    AND c.sku ~ '^[A-Za-z0-9_./-]{1,200}$'
    AND c.product_url ~* '^https?://[^/?#]+' AND length(c.product_url) <= 2048
    -- the product refuses loopback, private and link-local hosts
    AND c.product_url !~* '^https?://(localhost|127\.|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2[0-9]|3[01])\.|\[)'
    AND length(coalesce(c.description, '')) <= 50000
    AND length(coalesce(c.brand, '')) <= 200
    AND (c.price_raw IS NULL OR c.price_text IS NOT NULL)
ORDER BY c.sku, c.position DESC
ON CONFLICT (sku) DO UPDATE SET
    name = excluded.name,
    product_url = excluded.product_url,
    weight = excluded.weight,
    weight_unit = excluded.weight_unit,
    description = excluded.description,
    categories = excluded.categories,
    images = excluded.images,
    brand = excluded.brand,
    rating_value = excluded.rating_value,
    color = excluded.color,
    price = excluded.price,
    availability = excluded.availability,
    seller = excluded.seller,
    material = excluded.material,
    currency = excluded.currency,
    review_count = excluded.review_count,
    source_version = excluded.source_version,
    updated_at = now()
