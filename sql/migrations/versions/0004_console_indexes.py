"""Indexes for the ops console's queries (measured by bench/bench_console.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
-- Health series, the Jobs table (newest first) and its time-range filter.
CREATE INDEX IF NOT EXISTS etl_jobs_created_idx ON etl_jobs (created_at DESC);
-- Latest failures and the Jobs table filtered by state.
CREATE INDEX IF NOT EXISTS etl_jobs_status_created_idx ON etl_jobs (status, created_at DESC);
-- Landing: the newest job of each (source, object key, ETag) identity, whatever its state.
CREATE INDEX IF NOT EXISTS etl_jobs_ingest_key_created_idx
    ON etl_jobs (ingest_key, created_at DESC);
-- Sources: catalog items per source through the job that last wrote them.
CREATE INDEX IF NOT EXISTS catalog_items_last_job_idx ON catalog_items (last_job_id);
"""

DOWNGRADE = """
DROP INDEX IF EXISTS catalog_items_last_job_idx;
DROP INDEX IF EXISTS etl_jobs_ingest_key_created_idx;
DROP INDEX IF EXISTS etl_jobs_status_created_idx;
DROP INDEX IF EXISTS etl_jobs_created_idx;
"""


def upgrade() -> None:
    """Create the console's indexes."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop the console's indexes."""
    op.execute(DOWNGRADE)
