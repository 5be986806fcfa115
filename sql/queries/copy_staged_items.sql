-- Stream a chunk's valid rows into the staging table, typed (binary COPY): one column per
-- catalog field, NULL where the row has no value. `sku_hash` is computed by the server.
COPY etl_staged_items (
    job_id, record_ordinal, chunk_index, sku, name, product_url, weight, weight_unit,
    description, categories, images, brand, model, rating_value, color, size, price,
    availability, seller, product_sku, material, currency, condition, review_count, variants,
    techs, links, reviews, qas, faqs
) FROM STDIN (FORMAT BINARY)
