"""Session fixtures: one throwaway PostgreSQL server, a fresh migrated database per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from pytest_postgresql import factories
from pytest_postgresql.executors import NoopExecutor

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.postgres import upgrade_schema

pytest_plugins = [
    "tests.fixtures_s3",
    "tests.fake_embeddings",
    "tests.fixtures_prefect",
    "tests.query_coverage",
]

TEST_EMBEDDING_DIMENSIONS = 8


def _traversable_tempdir(prefix: str) -> Path:
    # As root the server runs as a service user that must be able to enter this folder.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[NoopExecutor]:
    """One PostgreSQL 18 server from the pinned package for the whole test session.

    Under pytest-xdist every worker runs its own server: the data folder is named after the
    worker and the server picks its own free loopback port, so workers never share either.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    root = _traversable_tempdir(f"catalog-etl-test-pg-{worker}-")
    server = EmbeddedPostgres(root / "pg")
    status = server.start()
    assert status.port is not None
    # The server requires its generated password (scram): every URL below carries it.
    base = NoopExecutor(
        host="127.0.0.1",
        port=status.port,
        user="postgres",
        password=server.password(),
        options="",
        dbname="catalog_test",
    )
    # Fixtures that depend on this one clone their databases from its (empty) template.
    with psycopg.connect(
        _url(base.host, base.port, base.user, "postgres", base.password), autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{base.template_dbname}" WITH IS_TEMPLATE true')
    try:
        yield base
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _url(host: str, port: int | str, user: str, dbname: str, password: str | None) -> str:
    auth = f"{user}:{quote(password, safe='')}" if password else user
    return f"postgresql://{auth}@{host}:{port}/{dbname}"


def _migrate_template(
    host: str, port: int, user: str, dbname: str, password: str | None = None, **_: Any
) -> None:
    upgrade_schema(
        _url(host, port, user, dbname, password), embedding_dimensions=TEST_EMBEDDING_DIMENSIONS
    )


migrated_proc = factories.postgresql_noproc(depends_on="pg_server", load=[_migrate_template])
empty_proc = factories.postgresql_noproc(depends_on="pg_server", dbname="catalog_empty")
postgresql = factories.postgresql("migrated_proc")
postgresql_empty = factories.postgresql("empty_proc")


def _conn_url(conn: psycopg.Connection[Any]) -> str:
    info = conn.info
    return _url(info.host, info.port, info.user, info.dbname, info.password)


@pytest.fixture
def db_url(postgresql: psycopg.Connection[Any]) -> str:
    """URL of a fresh database with every migration applied."""
    return _conn_url(postgresql)


@pytest.fixture
def empty_db_url(postgresql_empty: psycopg.Connection[Any]) -> str:
    """URL of a fresh database with no schema at all."""
    return _conn_url(postgresql_empty)


@pytest.fixture
def catalog_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Isolate CATALOG_* settings: clear inherited ones and point CATALOG_HOME at a temp dir."""
    for key in list(os.environ):
        if key.startswith("CATALOG_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    monkeypatch.setenv("CATALOG_HOME", str(home))
    return home
