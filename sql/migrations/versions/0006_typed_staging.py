"""Typed staging: staged and prepared items as catalog columns, staged rows hashed by SKU.

`etl_staged_items` and `etl_prepared_items` lose their per-row jsonb `item` and get the
catalog item's columns (same names and types as `catalog_items`; NULL means the row had no
value). Staged rows get `sku_hash` (`hashtext(sku) & 2147483647`, computed by the server as
the row is copied in) and an index on `(job_id, sku_hash)`: apply partition p of N reads the
hash range [p * 2^31 / N, (p + 1) * 2^31 / N) only, through the index.

Apply partitions used to be `hash % N`; they are hash ranges now. The prepared items of jobs
not yet published were prepared under the old rule, so the upgrade (and the downgrade) drops
them and marks those jobs' completed apply partitions discarded: a re-run prepares them again
(the same path as a job that ended before publishing). Staged rows are converted in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The catalog item's columns (without sku), in `catalog_items` order, with their types.
ITEM_COLUMNS = (
    ("name", "text"),
    ("product_url", "text"),
    ("weight", "double precision"),
    ("weight_unit", "text"),
    ("description", "text"),
    ("categories", "jsonb"),
    ("images", "jsonb"),
    ("brand", "text"),
    ("model", "text"),
    ("rating_value", "double precision"),
    ("color", "text"),
    ("size", "text"),
    ("price", "numeric"),
    ("availability", "availability"),
    ("seller", "text"),
    ("product_sku", "text"),
    ("material", "text"),
    ("currency", "text"),
    ("condition", "text"),
    ("review_count", "integer"),
    ("variants", "jsonb"),
    ("techs", "jsonb"),
    ("links", "jsonb"),
    ("reviews", "jsonb"),
    ("qas", "jsonb"),
    ("faqs", "jsonb"),
)
NAMES = ", ".join(name for name, _ in ITEM_COLUMNS)
ADD_COLUMNS = ",\n    ".join(f"ADD COLUMN {name} {sql_type}" for name, sql_type in ITEM_COLUMNS)
DROP_COLUMNS = ",\n    ".join(f"DROP COLUMN {name}" for name, _ in ITEM_COLUMNS)
# Only the keys with a value, as the staged jsonb form had them (nested nulls are kept; the
# price as an exact string, as staging wrote it).
AS_ITEM = (
    "(SELECT coalesce(jsonb_object_agg(e.key, e.value), '{{}}'::jsonb) "
    "FROM jsonb_each(jsonb_build_object('sku', {t}.sku, "
    + ", ".join(
        f"'{name}', {{t}}.{name}" + ("::text" if name == "price" else "")
        for name, _ in ITEM_COLUMNS
    )
    + ")) AS e (key, value) WHERE e.value <> 'null'::jsonb)"
)

# Prepared items of unpublished jobs were made under the other partition rule: re-prepare.
DISCARD_PREPARED = """
UPDATE etl_job_chunks
SET status = 'failed',
    items_upserted = 0,
    embedding_failures = 0,
    finished_at = clock_timestamp(),
    error_kind = 'discarded',
    error_message = 'the apply partition rule changed (migration 0006); prepare again'
WHERE phase = 'apply' AND status = 'completed'
    AND job_id IN (SELECT id FROM etl_jobs WHERE status IN ('pending', 'running'));
DELETE FROM etl_prepared_items;
"""

UPGRADE = f"""
ALTER TABLE etl_staged_items
    ADD COLUMN sku_hash integer GENERATED ALWAYS AS (hashtext(sku) & 2147483647) STORED,
    {ADD_COLUMNS};
UPDATE etl_staged_items s
SET ({NAMES}) = (
    SELECT {", ".join(f"r.{name}" for name, _ in ITEM_COLUMNS)}
    FROM jsonb_populate_record(NULL::catalog_items, s.item) AS r
);
ALTER TABLE etl_staged_items DROP COLUMN item;
CREATE INDEX etl_staged_items_job_hash_idx ON etl_staged_items (job_id, sku_hash);
{DISCARD_PREPARED}
ALTER TABLE etl_prepared_items
    DROP COLUMN item,
    {ADD_COLUMNS};
"""

DOWNGRADE = f"""
ALTER TABLE etl_staged_items ADD COLUMN item jsonb;
UPDATE etl_staged_items s SET item = {AS_ITEM.format(t="s")};
ALTER TABLE etl_staged_items ALTER COLUMN item SET NOT NULL;
DROP INDEX IF EXISTS etl_staged_items_job_hash_idx;
ALTER TABLE etl_staged_items
    DROP COLUMN sku_hash,
    {DROP_COLUMNS};
{DISCARD_PREPARED}
ALTER TABLE etl_prepared_items
    ADD COLUMN item jsonb NOT NULL,
    {DROP_COLUMNS};
"""


def upgrade() -> None:
    """Type the staged and prepared items' columns; hash and index staged rows by SKU."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Back to one jsonb `item` per staged and prepared row (unpublished jobs re-prepare)."""
    op.execute(DOWNGRADE)
