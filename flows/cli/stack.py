"""`catalog-etl up | down | status`: the local stack under $CATALOG_HOME.

The stack is the embedded PostgreSQL server (unless CATALOG_DATABASE_URL is set), the local
Prefect server (unless PREFECT_API_URL is set), one detached `catalog-etl serve` (all
deployments + the webhook) and the ops console (Streamlit, on CATALOG_CONSOLE_HOST/PORT).
PIDs live in `$CATALOG_HOME/run`, logs in `$CATALOG_HOME/logs`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.adapters.postgres import redact_url, resolve_database, upgrade_schema
from catalog_lib.core.settings import Settings
from flows.cli.console import bind_address
from flows.cli.logs import log_files
from flows.cli.output import JSON_OPTION, emit, handle_errors, load_settings, make_console
from flows.cli.startup import announce, announce_database, announce_prefect
from flows.runtime import secret_value
from flows.stack.console_process import (
    is_console_healthy,
    read_console,
    start_console,
    stop_console,
)
from flows.stack.console_process import log_path as console_log_path
from flows.stack.prefect_server import (
    auth_string_path,
    ensure_prefect_server,
    is_healthy,
    read_managed_server,
    stop_prefect_server,
)
from flows.stack.serve_process import (
    ensure_local_secret,
    is_ready,
    is_webhook_healthy,
    log_path,
    read_serve,
    secret_path,
    start_serve,
    stop_serve,
)
from flows.stack.work_pool import DEFAULT_POOL


def _embedded(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.state_dir / "pg", bin_dir=settings.pg_bin_dir)


def up(
    pool: Annotated[
        bool,
        typer.Option(
            "--pool/--no-pool",
            help=f"Run the deployments on the `{DEFAULT_POOL}` process work pool (a worker).",
        ),
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Start (or reuse) PostgreSQL, the Prefect server and `serve` with the webhook."""
    settings = load_settings(as_json)
    wanted_pool = DEFAULT_POOL if pool else None
    with handle_errors(as_json):
        state_dir = settings.state_dir.resolve()
        announce_database(settings)
        target = resolve_database(
            secret_value(settings.database_url), state_dir, settings.pg_bin_dir
        )
        upgrade_schema(target.url, embedding_dimensions=settings.embedding_dimensions)
        announce_prefect(settings)
        prefect = ensure_prefect_server(state_dir)
        running = read_serve(state_dir)
        reused = (
            running is not None
            and running.prefect_api == prefect.api_url
            and running.pool == wanted_pool
        )
        if running is not None and not (reused and is_ready(running, prefect.auth_string)):
            # A serve bound to another Prefect API, or one that stopped answering.
            stop_serve(state_dir)
            reused = False
        secret_file = None if settings.webhook_secret else ensure_local_secret(state_dir)
        if reused and running is not None:
            served = running
        else:
            announce("starting `catalog-etl serve` (deployments and the webhook)…")
            extra = {"CATALOG_WEBHOOK_SECRET": secret_file.read_text()} if secret_file else {}
            served = start_serve(
                state_dir,
                prefect.api_url,
                auth_string=prefect.auth_string,
                extra_env=extra,
                pool=wanted_pool,
            )
        shown = _ensure_console(settings, prefect.api_url, prefect.auth_string)
    document = {
        "prefect_api": prefect.api_url,
        "prefect_ui": prefect.ui_url,
        "webhook": served.webhook,
        "console": shown,
        "database": redact_url(target.url),
        "serve_pid": served.pid,
        "work_pool": served.pool,
        "reused": reused,
        "logs": str(state_dir / "logs"),
        "webhook_secret_file": str(secret_file) if secret_file else None,
        "prefect_auth_file": str(auth_string_path(state_dir)) if prefect.managed else None,
    }
    emit(document, as_json=as_json, text=lambda: _print_up(document))


def _ensure_console(settings: Settings, prefect_api: str, prefect_auth: str | None) -> str:
    """Reuse a healthy console bound to the same Prefect API, else (re)start it; its URL."""
    state_dir = settings.state_dir.resolve()
    running = read_console(state_dir)
    healthy = running is not None and is_console_healthy(running.url)
    if healthy and running is not None and running.prefect_api == prefect_api:
        return running.url
    if running is not None:
        stop_console(state_dir)
    host, port = bind_address(settings, None, None)
    return start_console(
        state_dir, host=host, port=port, prefect_api=prefect_api, prefect_auth=prefect_auth
    ).url


def _print_up(document: dict[str, Any]) -> None:
    console = make_console()
    console.print("catalog-etl is up" + (" (already running)" if document["reused"] else ""))
    for label, key in (
        ("Prefect UI", "prefect_ui"),
        ("Prefect API", "prefect_api"),
        ("webhook", "webhook"),
        ("console", "console"),
        ("work pool", "work_pool"),
        ("database", "database"),
        ("logs", "logs"),
        ("webhook secret", "webhook_secret_file"),
        ("Prefect auth", "prefect_auth_file"),
    ):
        console.print(f"  {label + ':':<16}{document[key] or '-'}", markup=False)
    console.print("  stop it with: uv run catalog-etl down", markup=False)


def status(as_json: bool = JSON_OPTION) -> None:
    """Show the local services: PostgreSQL, the Prefect server and `serve` (with the webhook)."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        state_dir = settings.state_dir.resolve()
        pg = _embedded(settings).status()
        prefect = read_managed_server(state_dir)
        served = read_serve(state_dir)
        shown = read_console(state_dir)
    document: dict[str, Any] = {
        "postgres": {
            "running": pg.running,
            "pid": pg.pid,
            "url": redact_url(pg.url) if pg.url else None,
            "external": settings.database_url is not None,
        },
        "prefect": {
            "running": prefect is not None,
            "pid": prefect.pid if prefect else None,
            "api_url": prefect.api_url if prefect else None,
            "ui_url": prefect.ui_url if prefect else None,
            "healthy": bool(prefect and is_healthy(prefect.api_url)),
        },
        "serve": {
            "running": served is not None,
            "pid": served.pid if served else None,
            "webhook": served.webhook if served else None,
            "webhook_healthy": bool(served and is_webhook_healthy(served.webhook)),
            "prefect_api": served.prefect_api if served else None,
            "log_file": str(log_path(state_dir)),
        },
        "console": {
            "running": shown is not None,
            "pid": shown.pid if shown else None,
            "url": shown.url if shown else None,
            "healthy": bool(shown and is_console_healthy(shown.url)),
            "log_file": str(console_log_path(state_dir)),
        },
        "logs": {name: str(path) for name, path in log_files(state_dir).items()},
        "webhook_secret_file": str(secret_path(state_dir))
        if secret_path(state_dir).is_file()
        else None,
        "webhook_secret_source": "CATALOG_WEBHOOK_SECRET"
        if settings.webhook_secret
        else ("generated by up" if secret_path(state_dir).is_file() else None),
    }
    emit(document, as_json=as_json, text=lambda: _print_status(document))


def _print_status(document: dict[str, Any]) -> None:
    console = make_console()
    pg, prefect, served = document["postgres"], document["prefect"], document["serve"]
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
    webhook = f"running, webhook {served['webhook']}" if served["running"] else "stopped"
    console.print(f"serve:    {webhook}", markup=False)
    shown = document["console"]
    console.print(
        f"console:  {'running ' + str(shown['url']) if shown['running'] else 'stopped'}",
        markup=False,
    )
    console.print("logs (`catalog-etl logs NAME [--follow]`):", markup=False)
    for name, path in document["logs"].items():
        console.print(f"  {name + ':':<10}{path}", markup=False)
    secret = document["webhook_secret_file"]
    source = document["webhook_secret_source"]
    console.print(
        "webhook secret: "
        + (
            "CATALOG_WEBHOOK_SECRET"
            if source == "CATALOG_WEBHOOK_SECRET"
            else (str(secret) if secret else "none (set CATALOG_WEBHOOK_SECRET or run `up`)")
        ),
        markup=False,
    )


def down(as_json: bool = JSON_OPTION) -> None:
    """Stop the console, `serve` (and its flow runs), the Prefect server and PostgreSQL."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        state_dir = settings.state_dir.resolve()
        shown = stop_console(state_dir)
        served = stop_serve(state_dir)
        prefect = stop_prefect_server(state_dir)
        postgres = _embedded(settings).stop()
    document = {
        "console_stopped": shown,
        "serve_stopped": served,
        "prefect_stopped": prefect,
        "postgres_stopped": postgres,
    }
    emit(
        document,
        as_json=as_json,
        text=lambda: typer.echo(
            f"console: {'stopped' if shown else 'was not running'}; "
            f"serve: {'stopped' if served else 'was not running'}; "
            f"prefect: {'stopped' if prefect else 'was not running'}; "
            f"postgres: {'stopped' if postgres else 'was not running'}"
        ),
    )
