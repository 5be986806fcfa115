"""Reconcile records its counter and why a count is unverified; weights carry their version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
-- Which implementation produced verified_row_count ('duckdb' or 'grammar'), and a short note:
-- why the fallback counter was used, or 'unverified: <why>' when no count could be made.
ALTER TABLE etl_jobs ADD COLUMN reconcile_counter text
    CHECK (reconcile_counter IN ('duckdb', 'grammar'));
ALTER TABLE etl_jobs ADD COLUMN reconcile_note text;
-- The version of the file that gave the stored weight: the weight is the one of the newest
-- file that had one, whatever order files are applied in.
ALTER TABLE catalog_items ADD COLUMN weight_source_version timestamptz;
UPDATE catalog_items SET weight_source_version = source_version WHERE weight IS NOT NULL;
"""

DOWNGRADE = """
ALTER TABLE catalog_items DROP COLUMN IF EXISTS weight_source_version;
ALTER TABLE etl_jobs DROP COLUMN IF EXISTS reconcile_note;
ALTER TABLE etl_jobs DROP COLUMN IF EXISTS reconcile_counter;
"""


def upgrade() -> None:
    """Add the reconcile counter and note to jobs, and the weight's file version to items."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop the columns the upgrade added."""
    op.execute(DOWNGRADE)
