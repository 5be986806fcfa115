"""Webhook replay cache: one row per accepted signature, kept for twice the signing window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE webhook_deliveries (
    signature_hash text PRIMARY KEY CHECK (signature_hash ~ '^[0-9a-f]{64}$'),
    received_at timestamptz NOT NULL DEFAULT now(),
    receipt jsonb NOT NULL
);
CREATE INDEX webhook_deliveries_received_at_idx ON webhook_deliveries (received_at);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS webhook_deliveries;
"""


def upgrade() -> None:
    """Create the replay cache of accepted webhook signatures."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop the replay cache."""
    op.execute(DOWNGRADE)
