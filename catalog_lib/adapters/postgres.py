"""PostgreSQL access: resolve the URL in use, connect, migrate, load named queries.

This module is the database boundary. `connect` is the only way the product opens a
connection, and its connections raise error-tree exceptions (`translate_error`) instead of
driver errors for their whole life; migrations, which run through SQLAlchemy, translate the
same way. Every statement is a named query in `sql/queries/` (`load_query`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.abc import RV, PQGen
from psycopg.rows import Row, dict_row

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.queries import SQL_DIR
from catalog_lib.adapters.queries import load_query as load_query  # the module's public API
from catalog_lib.core.errors import (
    CatalogError,
    ConfigurationError,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseQueryError,
)

MIGRATIONS_DIR = SQL_DIR / "migrations"
# psycopg's default poll interval of `Connection.wait`.
_WAIT_INTERVAL = 0.1


@dataclass(frozen=True)
class DatabaseTarget:
    """The database a command works on: a configured URL or the embedded server."""

    url: str
    embedded: EmbeddedPostgres | None


def resolve_database(
    database_url: str | None, state_dir: Path, pg_bin_dir: Path | None = None, *, start: bool = True
) -> DatabaseTarget:
    """Return the configured database, starting the embedded server when none is configured."""
    if database_url:
        return DatabaseTarget(url=to_libpq_url(database_url), embedded=None)
    server = EmbeddedPostgres(state_dir / "pg", bin_dir=pg_bin_dir)
    if start:
        server.start()
    elif not server.status().running:
        raise ConfigurationError(
            "the embedded PostgreSQL server is not running; start it with `catalog-etl db start`"
        )
    return DatabaseTarget(url=server.url(), embedded=server)


def to_libpq_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix (`postgresql+psycopg://`) so psycopg and psql accept it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError("CATALOG_DATABASE_URL must be a postgresql:// URL")
    base = scheme.split("+", 1)[0]
    if base not in ("postgresql", "postgres"):
        raise ConfigurationError("CATALOG_DATABASE_URL must be a postgresql:// URL")
    return f"postgresql://{rest}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by `***`, for output that may be shared."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def to_sqlalchemy_url(url: str) -> str:
    """The same URL with the psycopg 3 driver named, for SQLAlchemy and Alembic."""
    return "postgresql+psycopg://" + to_libpq_url(url).partition("://")[2]


def translate_error(exc: BaseException) -> CatalogError:
    """The error-tree exception for a driver (or SQLAlchemy-wrapped driver) error.

    Lost or refused connections, serialization failures and deadlocks are transient (a retry
    may succeed); any other driver error is terminal. Only the error class and SQLSTATE are
    kept: server messages can quote row values ("Failing row contains ..."), and orchestrators
    log exception text.
    """
    driver = getattr(exc, "orig", None) or exc  # SQLAlchemy's DBAPIError wraps the driver's
    fields = {"error_name": type(driver).__name__, "sqlstate": getattr(driver, "sqlstate", None)}
    if isinstance(driver, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
        return DatabaseConflictError("transaction conflict", **fields)
    if isinstance(driver, psycopg.OperationalError):
        return DatabaseConnectionError("database connection failed", **fields)
    return DatabaseQueryError("database statement failed", **fields)


class TranslatingConnection(psycopg.Connection[Row]):
    """A psycopg connection whose every round trip raises the error tree, not driver errors.

    All server work of a connection (execute, fetch, COPY, commit, rollback, transaction
    blocks, server-side cursors) runs through `wait`, so translating there covers the
    connection's whole life; callers cannot forget it.
    """

    def wait(
        self, gen: PQGen[RV], interval: float = _WAIT_INTERVAL, timeout: float | None = None
    ) -> RV:
        """Run a driver generator on the connection, translating driver errors."""
        if timeout is not None:
            # Only psycopg's own cancellation uses a timeout; it handles the timeout itself.
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, timeout)
        except psycopg.Error as exc:
            raise translate_error(exc) from None


# The connection type every caller of `connect` gets: rows as dicts, errors from the tree.
Connection = psycopg.Connection[dict[str, Any]]


def connect(url: str, *, autocommit: bool = False) -> Connection:
    """Open a connection that returns rows as dicts and raises only error-tree exceptions.

    This is the only way the product opens a database connection. Use it as a context
    manager (`with connect(url) as conn:`): the block commits on success, rolls back on error
    and closes the connection.
    """
    try:
        conn: Connection = TranslatingConnection.connect(
            url, autocommit=autocommit, row_factory=dict_row, connect_timeout=10
        )
    except psycopg.OperationalError as exc:
        # The driver's message can contain the host and user; keep only the error class.
        raise DatabaseConnectionError(
            "could not connect to PostgreSQL", error_name=type(exc).__name__
        ) from None
    except psycopg.Error as exc:
        # A malformed URL (e.g. an unknown query parameter); retrying cannot fix it.
        raise ConfigurationError(
            "the database URL is not valid", error_name=type(exc).__name__
        ) from None
    return conn


def required_row(row: Row | None, query: str) -> Row:
    """The row a statement always returns (e.g. INSERT ... RETURNING); none is a query error."""
    if row is None:
        raise DatabaseQueryError("a statement returned no row", query=query)
    return row


def _alembic_config(url: str, embedding_dimensions: int, use_pgvector: bool | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", to_sqlalchemy_url(url).replace("%", "%%"))
    config.attributes["embedding_dimensions"] = embedding_dimensions
    config.attributes["use_pgvector"] = use_pgvector
    return config


# Any constant works; it only has to be the same for every process migrating this database.
_MIGRATION_LOCK_KEY = 0x43415441


@dataclass(frozen=True)
class UpgradeResult:
    """The schema revision before and after an upgrade (measured under the migration lock)."""

    previous: str | None
    current: str | None

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return self.previous != self.current


def upgrade_schema(
    url: str, *, embedding_dimensions: int, revision: str = "head", use_pgvector: bool | None = None
) -> UpgradeResult:
    """Apply migrations up to `revision`; idempotent, and safe when run concurrently.

    A session advisory lock serialises concurrent upgrades of the same database: the second
    process waits, then finds the schema current and does nothing.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool
    from sqlalchemy.exc import DBAPIError

    lock = {"key": _MIGRATION_LOCK_KEY}
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(load_query("migration_lock"), lock)
            conn.commit()
            try:
                previous = MigrationContext.configure(conn).get_current_revision()
                conn.commit()
                config = _alembic_config(url, embedding_dimensions, use_pgvector)
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
                current = MigrationContext.configure(conn).get_current_revision()
            finally:
                conn.rollback()
                conn.exec_driver_sql(load_query("migration_unlock"), lock)
                conn.commit()
    except DBAPIError as exc:
        # Migrations run through SQLAlchemy, not `connect`: translate its driver errors here.
        raise translate_error(exc) from None
    finally:
        engine.dispose()
    return UpgradeResult(previous=previous, current=current)


def downgrade_schema(url: str, *, revision: str = "base") -> None:
    """Revert migrations down to `revision`."""
    from alembic import command
    from sqlalchemy.exc import DBAPIError

    try:
        command.downgrade(_alembic_config(url, 0), revision)
    except DBAPIError as exc:
        raise translate_error(exc) from None


@dataclass(frozen=True)
class SchemaStatus:
    """What `db status` reports about the schema."""

    revision: str | None
    head: str
    embedding_type: str | None
    server_version: str

    @property
    def is_current(self) -> bool:
        """Whether every migration has been applied."""
        return self.revision == self.head


def get_schema_status(url: str) -> SchemaStatus:
    """Read the applied revision and the embedding column's type (vector or real[] fallback)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() or ""
    with connect(url) as conn:
        version = conn.execute(load_query("server_version")).fetchone()
        has_table = conn.execute(load_query("alembic_version_exists")).fetchone()
        revision = None
        if has_table and has_table["present"]:
            row = conn.execute(load_query("schema_revision")).fetchone()
            revision = row["version_num"] if row else None
        column = conn.execute(load_query("embedding_column_type")).fetchone()
    return SchemaStatus(
        revision=revision,
        head=head,
        embedding_type=column["type"] if column else None,
        server_version=version["server_version"] if version else "unknown",
    )


def list_schema_differences(url: str) -> list[Any]:
    """What Alembic's autogenerate finds between the models and the database at `url`.

    Empty when the migrations and `catalog_lib.models` describe the same schema; the drift
    test asserts that for a freshly migrated database.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    from catalog_lib.models.schema import COMPARE_OPTIONS, metadata

    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=COMPARE_OPTIONS)
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def draft_migration(url: str, *, rev_id: str, message: str) -> Path:
    """Write an autogenerated draft of the next migration (models vs. the database at `url`).

    The draft is a starting point: rewrite it as explicit SQL like `0001_initial_schema.py`
    before committing it.
    """
    from alembic import command

    script = command.revision(
        _alembic_config(url, 0), message=message, autogenerate=True, rev_id=rev_id
    )
    if script is None or isinstance(script, list):
        raise ConfigurationError("alembic did not write exactly one migration draft")
    return Path(script.path)
