"""The models and the migrations describe the same schema (drift test), and the check can fail."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from catalog_lib.adapters import postgres
from catalog_lib.adapters.postgres import (
    draft_migration,
    list_schema_differences,
    to_sqlalchemy_url,
    upgrade_schema,
)
from catalog_lib.models.jobs import JobStatus
from catalog_lib.models.schema import COMPARE_OPTIONS, DEPLOYMENT_DEPENDENT_INDEXES, metadata
from tests.factories import SCHEMA_TABLES

TABLES = SCHEMA_TABLES


def _differences(url: str, target: sa.MetaData) -> list[Any]:
    """What autogenerate reports between `target` (a changed copy of the models) and `url`."""
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=COMPARE_OPTIONS)
            return list(compare_metadata(context, target))
    finally:
        engine.dispose()


def test_models_cover_every_table() -> None:
    assert set(metadata.tables) == TABLES


@pytest.mark.postgres
def test_models_match_the_migrated_schema(db_url: str) -> None:
    assert list_schema_differences(db_url) == []


@pytest.mark.postgres
def test_models_match_the_real_array_fallback(empty_db_url: str) -> None:
    upgrade_schema(empty_db_url, embedding_dimensions=8, use_pgvector=False)
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'catalog_items'::regclass AND attname = 'embedding'"
        ).fetchone()
    assert row == ("real[]",)
    assert list_schema_differences(empty_db_url) == []


def _copy() -> sa.MetaData:
    copy = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(copy)
    return copy


def _drop_column(md: sa.MetaData) -> None:
    table = md.tables["etl_jobs"]
    table._columns.remove(table.c.error_message)


def _retype_column(md: sa.MetaData) -> None:
    md.tables["etl_jobs"].c.source_size.type = sa.Integer()


def _make_nullable(md: sa.MetaData) -> None:
    md.tables["catalog_items"].c.sku.nullable = True


def _change_default(md: sa.MetaData) -> None:
    md.tables["etl_jobs"].c.chunks_total.server_default = sa.DefaultClause(sa.text("1"))


def _drop_index(md: sa.MetaData) -> None:
    table = md.tables["operator_actions"]
    table.indexes = {i for i in table.indexes if i.name != "operator_actions_target_job_idx"}


def _drop_unique(md: sa.MetaData) -> None:
    table = md.tables["catalog_items"]
    unique = next(c for c in table.constraints if c.name == "catalog_items_sku_unique")
    table.constraints.remove(unique)


def _drop_foreign_key(md: sa.MetaData) -> None:
    table = md.tables["audit_flags"]
    fk = next(c for c in table.foreign_key_constraints)
    table.constraints.remove(fk)
    table.c.snapshot_id.foreign_keys.clear()


def _retype_embedding(md: sa.MetaData) -> None:
    md.tables["catalog_items"].c.embedding.type = sa.Text()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop_column, "remove_column"),
        (_retype_column, "modify_type"),
        (_make_nullable, "modify_nullable"),
        (_change_default, "modify_default"),
        (_drop_index, "remove_index"),
        (_drop_unique, "remove_constraint"),
        (_drop_foreign_key, "remove_fk"),
        (_retype_embedding, "modify_type"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_drift_is_reported(
    db_url: str, change: Callable[[sa.MetaData], None], expected: str
) -> None:
    changed = _copy()
    change(changed)
    kinds = [_kind(d) for d in _differences(db_url, changed)]
    assert kinds == [expected]


def _kind(difference: Any) -> str:
    # Column modifications come wrapped in a list, one per column.
    return str(difference[0][0] if isinstance(difference, list) else difference[0])


def _catalog(url: str) -> dict[str, Any]:
    """What Alembic does not compare: CHECKs, FK actions, index predicates, enum labels."""
    with psycopg.connect(url) as conn:
        constraints = conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = 'public' AND c.conrelid <> 0"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        enums = conn.execute(
            "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) "
            "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname"
        ).fetchall()
        columns = conn.execute(
            "SELECT table_name, column_name, is_nullable, column_default, is_identity, "
            "identity_generation, CASE WHEN column_name = 'embedding' THEN '' "
            "ELSE format_type(a.atttypid, a.atttypmod) END "
            "FROM information_schema.columns c "
            "JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_name))::regclass "
            "AND a.attname = c.column_name "
            "WHERE c.table_schema = 'public' AND c.table_name <> 'alembic_version'"
        ).fetchall()
    return {
        "constraints": {(t, n): d for t, n, d in constraints if t != "alembic_version"},
        "indexes": {n: d for n, d in indexes if n not in DEPLOYMENT_DEPENDENT_INDEXES},
        "enums": dict(enums),
        "columns": {(r[0], r[1]): r[2:] for r in columns},
    }


def _create_from(md: sa.MetaData, url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        md.create_all(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_models_create_the_same_constraints_and_indexes(db_url: str, empty_db_url: str) -> None:
    _create_from(metadata, empty_db_url)
    migrated, modelled = _catalog(db_url), _catalog(empty_db_url)
    # The comparison sees what Alembic does not: partial-index predicates, enum labels, CHECKs.
    assert "WHERE" in migrated["indexes"]["etl_jobs_live_ingest_key_uq"]
    assert migrated["enums"]["etl_job_status"] == [s.value for s in JobStatus]
    assert (
        "ON DELETE SET NULL"
        in migrated["constraints"][("etl_jobs", "etl_jobs_supersedes_job_id_fkey")]
    )
    for part in ("constraints", "indexes", "enums", "columns"):
        assert modelled[part] == migrated[part], part


@pytest.mark.postgres
def test_a_changed_check_is_reported(db_url: str, empty_db_url: str) -> None:
    changed = _copy()
    check = next(
        c for c in changed.tables["etl_jobs"].constraints if c.name == "etl_jobs_mode_check"
    )
    assert isinstance(check, sa.CheckConstraint)
    check.sqltext = sa.text("mode IN ('ingest', 'retry')")
    _create_from(changed, empty_db_url)
    assert _catalog(empty_db_url)["constraints"] != _catalog(db_url)["constraints"]


@pytest.mark.postgres
def test_draft_migration_of_an_empty_database_creates_every_table(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "MIGRATIONS_DIR", _scratch_migrations(tmp_path))
    path = draft_migration(empty_db_url, rev_id="0001", message="draft")
    text = path.read_text(encoding="utf-8")
    assert all(f"op.create_table('{t}'" in text or f'op.create_table("{t}"' in text for t in TABLES)


def _scratch_migrations(tmp_path: Path) -> Path:
    """The project's migration environment with no versions yet (so the draft is 0001)."""
    scratch = tmp_path / "migrations"
    (scratch / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(postgres.MIGRATIONS_DIR / name, scratch / name)
    return scratch
