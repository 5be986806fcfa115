"""PostgreSQL access: resolve the URL in use, connect, migrate, load named queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.core.errors import ConfigurationError, DatabaseError, DatabaseQueryError

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
QUERIES_DIR = SQL_DIR / "queries"


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


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[dict[str, Any]]:
    """Open a connection that returns rows as dicts; connection failures are transient."""
    try:
        return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as exc:
        # The driver's message can contain the host and user; keep only the error class.
        raise DatabaseError(
            "could not connect to PostgreSQL", error_name=type(exc).__name__
        ) from None


@contextmanager
def database_errors() -> Iterator[None]:
    """Translate driver errors into the error tree, once, here.

    Conflicts (serialization failure, deadlock) and lost connections are transient; any other
    driver error is terminal. The driver's message is always dropped: server messages can
    quote row values ("Failing row contains ..."), and orchestrators log exception text.
    """
    try:
        yield
    except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
        raise DatabaseError("transaction conflict", sqlstate=exc.sqlstate) from None
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            "database connection failed", error_name=type(exc).__name__, sqlstate=exc.sqlstate
        ) from None
    except psycopg.Error as exc:
        raise DatabaseQueryError(
            "database statement failed", error_name=type(exc).__name__, sqlstate=exc.sqlstate
        ) from None


@contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A connection whose work commits together on exit or rolls back on error."""
    with connect(url) as conn, conn.transaction():
        yield conn


@cache
def load_query(name: str) -> str:
    """Return the text of `sql/queries/<name>.sql`."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise ConfigurationError(f"unknown named query {name!r}")
    return path.read_text(encoding="utf-8")


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
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
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
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()
    return UpgradeResult(previous=previous, current=current)


def downgrade_schema(url: str, *, revision: str = "base") -> None:
    """Revert migrations down to `revision`."""
    from alembic import command

    command.downgrade(_alembic_config(url, 0), revision)


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
        version = conn.execute("SHOW server_version").fetchone()
        has_table = conn.execute("SELECT to_regclass('alembic_version') AS t").fetchone()
        revision = None
        if has_table and has_table["t"]:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row["version_num"] if row else None
        column = conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass('catalog_items') AND a.attname = 'embedding' "
            "AND NOT a.attisdropped"
        ).fetchone()
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
