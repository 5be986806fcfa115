-- The transaction's merged items of one apply partition (one row per SKU).
CREATE TEMP TABLE _merged (sku text PRIMARY KEY, item jsonb NOT NULL) ON COMMIT DROP
