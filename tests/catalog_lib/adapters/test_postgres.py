"""Migrations and schema constraints on a real PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from catalog_lib.adapters.postgres import (
    connect,
    downgrade_schema,
    get_schema_status,
    redact_url,
    required_row,
    to_libpq_url,
    to_sqlalchemy_url,
    translate_error,
    upgrade_schema,
)
from catalog_lib.core.errors import (
    ConfigurationError,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseQueryError,
    TerminalError,
    TransientError,
)
from tests.factories import SCHEMA_TABLES

pytestmark = pytest.mark.postgres

TABLES = SCHEMA_TABLES


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
    assert status.is_current
    assert status.embedding_type == "vector(8)"
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
    assert price is not None
    assert price["price"] == Decimal("1.299")


def test_job_counters_default_to_zero_and_are_not_null(db_url: str) -> None:
    with connect(db_url) as conn:
        job_id = _insert_job(conn)
        row = conn.execute("SELECT * FROM etl_jobs WHERE id = %s", (job_id,)).fetchone()
        assert row is not None
        for col in ("total_processed", "total_valid", "total_invalid", "total_embedding_failures"):
            assert row[col] == 0
        with pytest.raises(DatabaseQueryError) as caught:
            conn.execute("UPDATE etl_jobs SET total_valid = NULL WHERE id = %s", (job_id,))
    assert caught.value.fields["sqlstate"] == psycopg.errors.NotNullViolation.sqlstate


def test_job_cannot_supersede_itself(db_url: str) -> None:
    job_id = uuid.uuid4()
    with connect(db_url) as conn, pytest.raises(DatabaseQueryError) as caught:
        _insert_job(conn, id=job_id, supersedes_job_id=job_id)
    assert caught.value.fields["sqlstate"] == psycopg.errors.CheckViolation.sqlstate


def test_one_live_ingest_per_ingest_key(db_url: str) -> None:
    with connect(db_url) as conn:
        _insert_job(conn, ingest_key="same", status="failed")
        _insert_job(conn, ingest_key="same", status="running")
        conn.commit()
        with pytest.raises(DatabaseQueryError) as caught:
            _insert_job(conn, ingest_key="same", status="pending")
    assert caught.value.fields["sqlstate"] == psycopg.errors.UniqueViolation.sqlstate


def test_one_live_retry_per_superseded_job(db_url: str) -> None:
    with connect(db_url) as conn:
        original = _insert_job(conn, ingest_key="k", status="failed")
        _insert_job(conn, ingest_key="k", status="running", supersedes_job_id=original)
        conn.commit()
        with pytest.raises(DatabaseQueryError) as caught:
            _insert_job(conn, ingest_key="k", status="pending", supersedes_job_id=original)
    assert caught.value.fields["sqlstate"] == psycopg.errors.UniqueViolation.sqlstate


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
    assert count is not None
    assert count["n"] == 1


def test_sku_is_unique(db_url: str) -> None:
    sql = (
        "INSERT INTO catalog_items (name, product_url, sku, source_version) "
        "VALUES ('n', 'https://x.example/', 'S1', now())"
    )
    with connect(db_url) as conn:
        conn.execute(sql)
        with pytest.raises(DatabaseQueryError) as caught:
            conn.execute(sql)
    assert caught.value.fields["sqlstate"] == psycopg.errors.UniqueViolation.sqlstate


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


def test_a_killed_connection_is_transient_on_its_next_statement(db_url: str) -> None:
    with connect(db_url) as victim, connect(db_url, autocommit=True) as admin:
        pid = victim.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DatabaseConnectionError) as caught:
            victim.execute("SELECT 1")
    assert isinstance(caught.value, TransientError)
    assert caught.value.kind == "database_unavailable"


def test_a_killed_connection_is_transient_in_commit_and_transaction(db_url: str) -> None:
    with connect(db_url) as victim, connect(db_url, autocommit=True) as admin:
        victim.execute("SELECT 1")  # a transaction is open: commit has work to send
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (victim.info.backend_pid,))
        with pytest.raises(DatabaseConnectionError):
            victim.commit()
    with (  # noqa: PT012
        connect(db_url) as victim,
        connect(db_url, autocommit=True) as admin,
        pytest.raises(DatabaseConnectionError),
        victim.transaction(),
    ):
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (victim.info.backend_pid,))
        victim.execute("SELECT 1")


def test_copy_errors_are_translated(db_url: str) -> None:
    with (
        connect(db_url) as conn,
        pytest.raises(DatabaseQueryError) as caught,
        conn.transaction(),
        conn.cursor().copy("COPY etl_staged_items (job_id, sku) FROM STDIN") as copy,
    ):
        copy.write_row(("not-a-uuid", "S1"))
    assert caught.value.fields["sqlstate"] == psycopg.errors.InvalidTextRepresentation.sqlstate
    assert "not-a-uuid" not in str(caught.value)


def test_conflicts_are_transient_and_other_errors_terminal(db_url: str) -> None:
    with connect(db_url) as conn:
        with pytest.raises(DatabaseConflictError) as caught:
            conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'row (x, secret) conflicts' "
                "USING ERRCODE = '40001'; END $$"
            )
        assert caught.value.fields["sqlstate"] == "40001"
        assert isinstance(caught.value, TransientError)
        assert "secret" not in str(caught.value)  # server text never reaches the message
        conn.rollback()
        with pytest.raises(DatabaseConflictError) as deadlock:
            conn.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$")
        assert deadlock.value.fields["sqlstate"] == "40P01"
        conn.rollback()
        with pytest.raises(DatabaseQueryError) as terminal:
            conn.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'Failing row contains (secret)' "
                "USING ERRCODE = '23505'; END $$"
            )
        assert terminal.value.fields["sqlstate"] == "23505"
        assert isinstance(terminal.value, TerminalError)
        assert "secret" not in str(terminal.value)


def test_unreachable_server_is_transient_without_the_dsn(db_url: str) -> None:
    dead = "postgresql://someone:hunter2@127.0.0.1:1/nowhere"
    with pytest.raises(DatabaseConnectionError) as caught:
        connect(dead)
    assert isinstance(caught.value, TransientError)
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)


def test_a_malformed_database_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        connect("postgresql://ops:hunter2@127.0.0.1:1/catalog?bogus=1")
    assert "hunter2" not in str(caught.value)
    assert "bogus" not in str(caught.value)


def test_translate_error_unwraps_sqlalchemy_and_drops_the_message() -> None:
    from sqlalchemy.exc import DBAPIError

    driver = psycopg.errors.UniqueViolation("Failing row contains (secret)")
    wrapped = DBAPIError("INSERT ...", {}, driver)
    translated = translate_error(wrapped)
    assert isinstance(translated, DatabaseQueryError)
    assert translated.fields["error_name"] == "UniqueViolation"
    assert "secret" not in str(translated)
    assert isinstance(translate_error(psycopg.OperationalError("x")), DatabaseConnectionError)
    assert isinstance(
        translate_error(psycopg.errors.SerializationFailure("x")), DatabaseConflictError
    )
    assert isinstance(translate_error(psycopg.errors.AdminShutdown("x")), DatabaseConnectionError)


def test_required_row_refuses_a_missing_row() -> None:
    assert required_row({"id": 1}, "q") == {"id": 1}
    with pytest.raises(DatabaseQueryError):
        required_row(None, "q")


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
