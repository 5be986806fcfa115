"""Migrations and schema constraints on a real PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from catalog_lib.adapters.postgres import (
    connect,
    database_errors,
    downgrade_schema,
    get_schema_status,
    redact_url,
    to_libpq_url,
    to_sqlalchemy_url,
    upgrade_schema,
)
from catalog_lib.core.errors import ConfigurationError, DatabaseError, DatabaseQueryError

pytestmark = pytest.mark.postgres

TABLES = {
    "etl_jobs",
    "etl_job_chunks",
    "etl_staged_items",
    "catalog_items",
    "catalog_item_etl_jobs",
    "invalid_item_logs",
    "operator_actions",
    "audit_snapshots",
    "audit_flags",
    "maintenance_runs",
    "webhook_deliveries",
}


def _tables(url: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r["tablename"] for r in rows} - {"alembic_version"}


def _insert_job(conn: psycopg.Connection[Any], **overrides: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "source": "evo",
        "filename": "evo.csv",
        "object_key": "file:///landing/evo.csv",
        "scraper_revision": "r1",
        "ingest_key": "k-" + uuid.uuid4().hex,
        "status": "running",
    }
    values.update(overrides)
    cols = ", ".join(values)
    marks = ", ".join(f"%({k})s" for k in values)
    conn.execute(f"INSERT INTO etl_jobs ({cols}) VALUES ({marks})", values)
    return values["id"]


def test_migrations_round_trip_on_empty_database(empty_db_url: str) -> None:
    assert _tables(empty_db_url) == set()
    upgrade_schema(empty_db_url, embedding_dimensions=8)
    assert _tables(empty_db_url) == TABLES
    status = get_schema_status(empty_db_url)
    assert status.is_current and status.embedding_type == "vector(8)"
    upgrade_schema(empty_db_url, embedding_dimensions=8)  # idempotent: a no-op at head
    assert get_schema_status(empty_db_url).revision == status.head
    downgrade_schema(empty_db_url)
    assert _tables(empty_db_url) == set()
    assert get_schema_status(empty_db_url).revision is None
    upgrade_schema(empty_db_url, embedding_dimensions=8)
    assert _tables(empty_db_url) == TABLES


def test_embedding_falls_back_to_real_array_without_pgvector(empty_db_url: str) -> None:
    upgrade_schema(empty_db_url, embedding_dimensions=8, use_pgvector=False)
    assert get_schema_status(empty_db_url).embedding_type == "real[]"


def test_every_timestamp_is_timestamptz(db_url: str) -> None:
    with connect(db_url) as conn:
        naive = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'"
        ).fetchall()
    assert naive == []


def test_price_is_numeric_and_keeps_three_decimals(db_url: str) -> None:
    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO catalog_items (name, product_url, sku, price, source_version) "
            "VALUES ('n', 'https://x.example/', 'S1', 1.299, now())"
        )
        price = conn.execute("SELECT price FROM catalog_items").fetchone()
    assert price is not None and price["price"] == Decimal("1.299")


def test_job_counters_default_to_zero_and_are_not_null(db_url: str) -> None:
    with connect(db_url) as conn:
        job_id = _insert_job(conn)
        row = conn.execute("SELECT * FROM etl_jobs WHERE id = %s", (job_id,)).fetchone()
        assert row is not None
        for col in ("total_processed", "total_valid", "total_invalid", "total_embedding_failures"):
            assert row[col] == 0
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute("UPDATE etl_jobs SET total_valid = NULL WHERE id = %s", (job_id,))


def test_job_cannot_supersede_itself(db_url: str) -> None:
    job_id = uuid.uuid4()
    with connect(db_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        _insert_job(conn, id=job_id, supersedes_job_id=job_id)


def test_one_live_ingest_per_ingest_key(db_url: str) -> None:
    with connect(db_url) as conn:
        _insert_job(conn, ingest_key="same", status="failed")
        _insert_job(conn, ingest_key="same", status="running")
        conn.commit()
        with pytest.raises(psycopg.errors.UniqueViolation):
            _insert_job(conn, ingest_key="same", status="pending")


def test_one_live_retry_per_superseded_job(db_url: str) -> None:
    with connect(db_url) as conn:
        original = _insert_job(conn, ingest_key="k", status="failed")
        _insert_job(conn, ingest_key="k", status="running", supersedes_job_id=original)
        conn.commit()
        with pytest.raises(psycopg.errors.UniqueViolation):
            _insert_job(conn, ingest_key="k", status="pending", supersedes_job_id=original)


def test_provenance_is_unique_per_item_and_job(db_url: str) -> None:
    with connect(db_url) as conn:
        job_id = _insert_job(conn)
        item = conn.execute(
            "INSERT INTO catalog_items (name, product_url, sku, source_version) "
            "VALUES ('n', 'https://x.example/', 'S1', now()) RETURNING id"
        ).fetchone()
        assert item is not None
        sql = (
            "INSERT INTO catalog_item_etl_jobs (catalog_item_id, etl_job_id) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(sql, (item["id"], job_id))
        conn.execute(sql, (item["id"], job_id))
        count = conn.execute("SELECT count(*) AS n FROM catalog_item_etl_jobs").fetchone()
    assert count is not None and count["n"] == 1


def test_sku_is_unique(db_url: str) -> None:
    sql = (
        "INSERT INTO catalog_items (name, product_url, sku, source_version) "
        "VALUES ('n', 'https://x.example/', 'S1', now())"
    )
    with connect(db_url) as conn:
        conn.execute(sql)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(sql)


def test_named_indexes_exist(db_url: str) -> None:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    defs = {r["indexname"]: r["indexdef"] for r in rows}
    assert "(created_at)" in defs["invalid_item_logs_created_at_idx"]
    assert "(supersedes_job_id)" in defs["etl_jobs_supersedes_idx"]
    assert "WHERE" in defs["etl_jobs_live_ingest_key_uq"]
    assert "hnsw" in defs["catalog_items_embedding_idx"]


def test_lost_connections_and_conflicts_become_transient(db_url: str) -> None:
    with connect(db_url) as victim, connect(db_url, autocommit=True) as admin:
        pid = victim.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DatabaseError), database_errors():
            victim.execute("SELECT 1")
    with connect(db_url) as conn:
        with pytest.raises(DatabaseError) as caught, database_errors():
            conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'row (x, secret) conflicts' "
                "USING ERRCODE = '40001'; END $$"
            )
        assert caught.value.fields["sqlstate"] == "40001"
        assert "secret" not in str(caught.value)  # server text never reaches the message
        conn.rollback()
        with pytest.raises(DatabaseQueryError) as terminal, database_errors():
            conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'Failing row contains (secret)' "
                "USING ERRCODE = '23505'; END $$"
            )
        assert terminal.value.fields["sqlstate"] == "23505"
        assert "secret" not in str(terminal.value) and terminal.value.__cause__ is None


@pytest.mark.parametrize(
    ("given", "libpq", "sqlalchemy"),
    [
        ("postgresql://u@h:1/d", "postgresql://u@h:1/d", "postgresql+psycopg://u@h:1/d"),
        ("postgresql+psycopg://u@h/d", "postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        (
            "postgres://u@h/d?sslmode=require",
            "postgresql://u@h/d?sslmode=require",
            "postgresql+psycopg://u@h/d?sslmode=require",
        ),
    ],
    ids=["plain", "driver-suffix", "postgres-scheme"],
)
def test_database_url_forms(given: str, libpq: str, sqlalchemy: str) -> None:
    assert to_libpq_url(given) == libpq
    assert to_sqlalchemy_url(given) == sqlalchemy


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (
            "postgresql://etl:s3cret@db:5432/c?sslmode=require",
            "postgresql://etl:***@db:5432/c?sslmode=require",
        ),
        ("postgresql://postgres@127.0.0.1:5/c", "postgresql://postgres@127.0.0.1:5/c"),
    ],
    ids=["password", "no-password"],
)
def test_redact_url_hides_only_the_password(given: str, shown: str) -> None:
    assert redact_url(given) == shown


@pytest.mark.parametrize("bad", ["mysql://u@h/d", "not a url"], ids=["mysql", "garbage"])
def test_database_url_rejects_other_schemes(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        to_libpq_url(bad)
