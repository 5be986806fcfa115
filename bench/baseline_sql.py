#!/usr/bin/env python3
"""Baseline (a): raw CSV bytes -> COPY into an UNLOGGED all-text staging table -> one
INSERT ... SELECT DISTINCT ON (sku) ... ON CONFLICT (sku) DO UPDATE with SQL casts.

No Python parsing: the file is streamed to the server in 1 MiB pieces. Validation is done by
SQL predicates (the rows an ingester would send to invalid_item_logs never reach the target):
  name non-empty, sku ~ '^[A-Za-z0-9_./-]+$', productUrl is http(s), price empty or numeric.
Casts are guarded: numeric casts by a regex, jsonb casts by pg_input_is_valid() (PG16+), the
availability enum by an IN list. Within the file the last row of a SKU wins (ctid order of a
staging table filled by one COPY = file order).

The target table must exist (bench_peer.py creates it fresh before each run); the staging
table is created inside the timed section because it is part of this method.

Runs in the venv with psycopg 3. Prints one JSON line: {"seconds", "copy_s", "upsert_s", ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import psycopg

CSV_COLUMNS = [
    "name",
    "sku",
    "productUrl",
    "brand",
    "description",
    "categories",
    "images",
    "price",
    "currency",
    "availability",
    "weight",
    "weightUnit",
    "ratingValue",
    "reviewCount",
    "variants",
    "techs",
    "faqs",
]
STG_COLUMNS = [
    "name",
    "sku",
    "product_url",
    "brand",
    "description",
    "categories",
    "images",
    "price",
    "currency",
    "availability",
    "weight",
    "weight_unit",
    "rating_value",
    "review_count",
    "variants",
    "techs",
    "faqs",
]

TARGET_DDL = """
DO $$ BEGIN
  CREATE TYPE availability AS ENUM ('in_stock', 'out_of_stock', 'preorder');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DROP TABLE IF EXISTS catalog_items;
CREATE TABLE catalog_items (
  id serial PRIMARY KEY,
  name text NOT NULL,
  product_url text NOT NULL,
  sku text NOT NULL CONSTRAINT catalog_items_sku_unique UNIQUE,
  weight real,
  weight_unit text,
  description text,
  categories jsonb,
  images jsonb,
  brand text,
  rating_value real,
  price real,
  availability availability,
  currency text,
  review_count integer,
  variants jsonb,
  techs jsonb,
  faqs jsonb,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);
"""

STAGING_DDL = (
    "DROP TABLE IF EXISTS stg_catalog; CREATE UNLOGGED TABLE stg_catalog ("
    + ", ".join(f"{c} text" for c in STG_COLUMNS)
    + ")"
)

NUM = r"'^[0-9]+(\.[0-9]+)?$'"

UPSERT_SQL = f"""
INSERT INTO catalog_items (name, product_url, sku, weight, weight_unit, description, categories,
  images, brand, rating_value, price, availability, currency, review_count, variants, techs, faqs)
SELECT DISTINCT ON (s.sku)
  s.name, s.product_url, s.sku,
  CASE WHEN s.weight ~ {NUM} THEN s.weight::real END,
  NULLIF(s.weight_unit, ''),
  COALESCE(s.description, ''),
  CASE WHEN pg_input_is_valid(s.categories, 'jsonb') THEN s.categories::jsonb END,
  CASE WHEN pg_input_is_valid(s.images, 'jsonb') THEN s.images::jsonb END,
  NULLIF(s.brand, ''),
  CASE WHEN s.rating_value ~ {NUM} THEN NULLIF(s.rating_value::real, 0) END,
  CASE WHEN s.price ~ {NUM} THEN s.price::real END,
  CASE WHEN s.availability IN ('in_stock', 'out_of_stock', 'preorder')
       THEN s.availability::availability END,
  COALESCE(s.currency, ''),
  COALESCE(CASE WHEN s.review_count ~ '^[0-9]{{1,9}}$' THEN s.review_count::integer END, 0),
  CASE WHEN pg_input_is_valid(s.variants, 'jsonb') THEN s.variants::jsonb END,
  CASE WHEN pg_input_is_valid(s.techs, 'jsonb') THEN s.techs::jsonb END,
  CASE WHEN pg_input_is_valid(s.faqs, 'jsonb') THEN s.faqs::jsonb END
FROM stg_catalog s
WHERE NULLIF(btrim(s.name), '') IS NOT NULL
  AND s.sku ~ '^[A-Za-z0-9_./-]+$'
  AND s.product_url ~* '^https?://'
  AND (s.price IS NULL OR s.price ~ {NUM})
ORDER BY s.sku, s.ctid DESC
ON CONFLICT (sku) DO UPDATE SET
  name = EXCLUDED.name, product_url = EXCLUDED.product_url, weight = EXCLUDED.weight,
  weight_unit = EXCLUDED.weight_unit, description = EXCLUDED.description,
  categories = EXCLUDED.categories, images = EXCLUDED.images, brand = EXCLUDED.brand,
  rating_value = EXCLUDED.rating_value, price = EXCLUDED.price,
  availability = EXCLUDED.availability, currency = EXCLUDED.currency,
  review_count = EXCLUDED.review_count, variants = EXCLUDED.variants, techs = EXCLUDED.techs,
  faqs = EXCLUDED.faqs, updated_at = now()
"""


def check_header(path: str) -> None:
    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8-sig").strip().split(",")
    if header != CSV_COLUMNS:
        raise SystemExit(f"unexpected CSV header: {header}")


def load(uri: str, path: str, chunk: int = 1 << 20) -> dict[str, float | int]:
    check_header(path)
    with psycopg.connect(uri) as conn:
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(STAGING_DDL)
            copy_sql = (
                f"COPY stg_catalog ({', '.join(STG_COLUMNS)}) FROM STDIN (FORMAT csv, HEADER true)"
            )
            with open(path, "rb") as fh, cur.copy(copy_sql) as cp:
                while data := fh.read(chunk):
                    cp.write(data)
            staged = cur.rowcount
            t1 = time.perf_counter()
            cur.execute(UPSERT_SQL)
            upserted = cur.rowcount
        conn.commit()
        t2 = time.perf_counter()
    return {
        "seconds": t2 - t0,
        "copy_s": t1 - t0,
        "upsert_s": t2 - t1,
        "staged_rows": staged,
        "upserted_rows": upserted,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="raw COPY + SQL upsert baseline")
    ap.add_argument("--uri", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument(
        "--create-target",
        action="store_true",
        help="only (re)create the empty catalog_items table, then exit",
    )
    args = ap.parse_args(argv)
    if args.create_target:
        with psycopg.connect(args.uri) as conn:
            conn.execute(TARGET_DDL)
        return 0
    json.dump(load(args.uri, args.csv), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
