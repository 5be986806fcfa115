-- Baseline, step 1: an UNLOGGED all-text landing table, one column per CSV header field in
-- file order. Rebuilt inside the timed section: creating it is part of the method.
DROP TABLE IF EXISTS baseline_raw;
CREATE UNLOGGED TABLE baseline_raw (
    name text,
    sku text,
    product_url text,
    brand text,
    description text,
    categories text,
    images text,
    price text,
    currency text,
    availability text,
    weight text,
    weight_unit text,
    rating_value text,
    review_count text,
    color text,
    material text,
    seller text
);
