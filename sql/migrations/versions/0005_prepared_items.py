"""Prepared items: a job's merged, embedded rows between apply and the one publish transaction.

Apply partitions no longer write `catalog_items`: each writes its merged items (and their new
embeddings) here, exactly once through the ledger, and the job's publish transaction upserts
them into `catalog_items`, deletes them with the staged rows and completes the job. A job that
ends failed or cancelled has its prepared rows deleted (docs/ingest.md §7-§9).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
-- One merged item per (job, SKU); `embedding` is NULL when the item needs no new vector
-- (its stored one is kept) or the provider failed. real[] whatever the catalog's column is:
-- pgvector casts real[] to vector on assignment, so publish writes the same values.
CREATE TABLE etl_prepared_items (
    job_id uuid NOT NULL,
    sku text NOT NULL,
    apply_partition integer NOT NULL,
    item jsonb NOT NULL,
    embedding real[],
    embedding_text_hash text,
    CONSTRAINT etl_prepared_items_pkey PRIMARY KEY (job_id, sku),
    CONSTRAINT etl_prepared_items_job_id_fkey FOREIGN KEY (job_id)
        REFERENCES etl_jobs (id) ON DELETE CASCADE
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS etl_prepared_items;
"""


def upgrade() -> None:
    """Create `etl_prepared_items`."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop `etl_prepared_items` (a job prepared but not published must be applied again)."""
    op.execute(DOWNGRADE)
