"""`catalog-etl status | down`: what local services run under $CATALOG_HOME, and stopping them."""

from __future__ import annotations

from typing import Any

import typer

from catalog_lib.pgserver import EmbeddedPostgres
from flows.cli_support import JSON_OPTION, emit, handle_errors, load_settings, make_console
from flows.prefect_server import is_healthy, read_managed_server, stop_prefect_server


def status(as_json: bool = JSON_OPTION) -> None:
    """Show the local services: the embedded PostgreSQL server and the local Prefect server."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        pg = EmbeddedPostgres(settings.state_dir / "pg", bin_dir=settings.pg_bin_dir).status()
        prefect = read_managed_server(settings.state_dir)
    document: dict[str, Any] = {
        "postgres": {
            "running": pg.running,
            "pid": pg.pid,
            "url": pg.url,
            "external": settings.database_url is not None,
        },
        "prefect": {
            "running": prefect is not None,
            "pid": prefect.pid if prefect else None,
            "api_url": prefect.api_url if prefect else None,
            "ui_url": prefect.ui_url if prefect else None,
            "healthy": bool(prefect and is_healthy(prefect.api_url)),
        },
    }
    emit(document, as_json=as_json, text=lambda: _print_status(document))


def _print_status(document: dict[str, Any]) -> None:
    console = make_console()
    pg, prefect = document["postgres"], document["prefect"]
    console.print(
        f"postgres: {'running ' + str(pg['url']) if pg['running'] else 'stopped'}"
        + (
            " (CATALOG_DATABASE_URL is set: the embedded server is not used)"
            if pg["external"]
            else ""
        ),
        markup=False,
    )
    console.print(
        f"prefect:  {'running ' + str(prefect['ui_url']) if prefect['running'] else 'stopped'}",
        markup=False,
    )


def down(as_json: bool = JSON_OPTION) -> None:
    """Stop the local Prefect server and the embedded PostgreSQL server."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        prefect = stop_prefect_server(settings.state_dir)
        postgres = EmbeddedPostgres(settings.state_dir / "pg", bin_dir=settings.pg_bin_dir).stop()
    document = {"prefect_stopped": prefect, "postgres_stopped": postgres}
    emit(
        document,
        as_json=as_json,
        text=lambda: typer.echo(
            f"prefect: {'stopped' if prefect else 'was not running'}; "
            f"postgres: {'stopped' if postgres else 'was not running'}"
        ),
    )
