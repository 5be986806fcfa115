"""The `catalog-etl` command line (Typer). Database-only commands never import prefect."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.postgres import get_schema_status, resolve_database, upgrade_schema
from catalog_lib.core.settings import Settings
from flows.cli.blocks import blocks_app
from flows.cli.config import config, env
from flows.cli.console import console
from flows.cli.demo import demo
from flows.cli.help import JsonUsageGroup
from flows.cli.help import install as install_help
from flows.cli.jobs import ingest, job_app, jobs
from flows.cli.logs import logs
from flows.cli.output import JSON_OPTION, emit, handle_errors, load_settings
from flows.cli.prefect_cli import PREFECT_CONTEXT, prefect
from flows.cli.quality import audit_app, retention
from flows.cli.recovery import reconcile, repair, retry
from flows.cli.serve import serve
from flows.cli.stack import down, status, up
from flows.cli.startup import announce_database
from flows.cli.sweep import sweep
from flows.cli.webhook import webhook_app

install_help()
app = typer.Typer(
    name="catalog-etl",
    cls=JsonUsageGroup,
    help="Ingest scraper catalog CSVs into PostgreSQL, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: embedded server lifecycle and migrations.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"catalog-etl {package_version()}")
        raise typer.Exit()


def package_version() -> str:
    """The installed catalog-etl version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("catalog-etl")
    except PackageNotFoundError:
        return "unknown"


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
            show_default=False,
        ),
    ] = False,
) -> None:
    """Ingest scraper catalog CSVs into PostgreSQL, exactly once."""


app.command("demo")(demo)
app.command("ingest")(ingest)
app.command("jobs")(jobs)
app.command("status")(status)
app.command("down")(down)
app.command("up")(up)
app.command("serve")(serve)
app.command("console")(console)
app.command("retry")(retry)
app.command("repair")(repair)
app.command("reconcile")(reconcile)
app.add_typer(job_app, name="job")
app.command("retention")(retention)
app.command("sweep")(sweep)
app.add_typer(audit_app, name="audit")
app.add_typer(webhook_app, name="webhook")
app.add_typer(blocks_app, name="blocks")
app.command("logs")(logs)
app.command("config")(config)
app.command("env")(env)
app.command("prefect", context_settings=PREFECT_CONTEXT, add_help_option=False)(prefect)


def _embedded(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.state_dir / "pg", bin_dir=settings.pg_bin_dir)


def _database_url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


@db_app.command("start")
def db_start(as_json: bool = JSON_OPTION) -> None:
    """Start the embedded PostgreSQL server (or confirm it already runs)."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        if _database_url(settings):
            emit(
                {"embedded": False, "running": None},
                as_json=as_json,
                text=lambda: typer.echo("CATALOG_DATABASE_URL is set: nothing to start"),
            )
            return
        status = _embedded(settings).start()
        emit(
            {
                "embedded": True,
                "running": True,
                "pid": status.pid,
                "port": status.port,
                "data_dir": status.data_dir,
            },
            as_json=as_json,
            text=lambda: typer.echo(
                f"PostgreSQL running on 127.0.0.1:{status.port} (data: {status.data_dir})"
            ),
        )


@db_app.command("stop")
def db_stop(as_json: bool = JSON_OPTION) -> None:
    """Stop the embedded PostgreSQL server."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        stopped = _embedded(settings).stop()
        emit(
            {"stopped": stopped},
            as_json=as_json,
            text=lambda: typer.echo("stopped" if stopped else "not running"),
        )


@db_app.command("url")
def db_url(as_json: bool = JSON_OPTION) -> None:
    """Print the connection URL in use (starts the embedded server if needed)."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        announce_database(settings)
        target = resolve_database(_database_url(settings), settings.state_dir, settings.pg_bin_dir)
        emit(
            {"url": target.url, "embedded": target.embedded is not None},
            as_json=as_json,
            text=lambda: typer.echo(target.url),
        )


@db_app.command("upgrade")
def db_upgrade(as_json: bool = JSON_OPTION) -> None:
    """Apply all migrations (starts the embedded server if needed); a no-op when current."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        announce_database(settings)
        target = resolve_database(_database_url(settings), settings.state_dir, settings.pg_bin_dir)
        result = upgrade_schema(target.url, embedding_dimensions=settings.embedding_dimensions)
        after = get_schema_status(target.url)
        emit(
            {
                "revision": result.current,
                "previous_revision": result.previous,
                "changed": result.changed,
                "embedding_type": after.embedding_type,
            },
            as_json=as_json,
            text=lambda: typer.echo(
                f"schema upgraded {result.previous or 'empty'} -> {result.current}"
                if result.changed
                else f"schema already at {result.current}"
            ),
        )


@db_app.command("status")
def db_status(as_json: bool = JSON_OPTION) -> None:
    """Show the server, the schema revision and whether embeddings use pgvector."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        url = _database_url(settings)
        server = None if url else _embedded(settings).status()
        document: dict[str, object] = {"embedded": server is not None}
        if server is not None:
            document.update(
                running=server.running,
                pid=server.pid,
                port=server.port,
                data_dir=server.data_dir,
                run_as=server.run_as,
            )
        reachable = url is not None or (server is not None and server.running)
        if reachable:
            target = resolve_database(url, settings.state_dir, settings.pg_bin_dir, start=False)
            schema = get_schema_status(target.url)
            document.update(
                server_version=schema.server_version,
                revision=schema.revision,
                head=schema.head,
                current=schema.is_current,
                embedding_type=schema.embedding_type,
                pgvector=_pgvector_state(schema.embedding_type),
            )
        emit(document, as_json=as_json, text=lambda: _print_status(document))


def _pgvector_state(embedding_type: str | None) -> str:
    if embedding_type is None:
        return "no schema yet"
    if embedding_type.startswith("vector"):
        return "pgvector"
    return "fallback: real[] (pgvector is not installed on this server; no vector search)"


def _print_status(document: dict[str, object]) -> None:
    for key, value in document.items():
        typer.echo(f"{key:>15}: {value}")


def main() -> None:
    """Console-script entry point: JSON logs on stderr and Sentry, then the command."""
    from contextlib import suppress

    from pydantic import ValidationError

    from catalog_lib.adapters.home import private_umask, secure_home
    from catalog_lib.core.settings import get_settings
    from flows.runtime import configure_observability

    # Everything this process and its children write ($CATALOG_HOME, results, logs) is 0600.
    private_umask()
    # No client telemetry from Prefect (and no first-run telemetry banner in our output).
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Invalid settings are reported by the command itself (exit 2).
    with suppress(ValidationError):
        settings = get_settings()
        configure_observability(settings, interactive=sys.stderr.isatty())
        secure_home(settings.state_dir)
    app()
