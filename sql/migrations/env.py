"""Alembic environment: runs migrations on the connection or URL the postgres adapter hands in.

The target metadata is the SQLModel models' (`catalog_lib.models.schema`): autogenerate drafts
a migration from the difference, with the same comparison options as the drift test
(`tests/catalog_lib/models/test_schema.py`). Migrations themselves stay explicit SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from catalog_lib.models.schema import COMPARE_OPTIONS, metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection (offline SQL generation is not supported)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            **COMPARE_OPTIONS,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migration environment")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            **COMPARE_OPTIONS,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
