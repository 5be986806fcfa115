"""`catalog-etl console [--host] [--port]`: run the Streamlit ops console in the foreground.

The console gets this process's CATALOG_* settings (with an absolute CATALOG_HOME) and the
Prefect API of the local stack (started if needed, like the webhook), so its actions can start
deployment runs. It never imports prefect itself; neither does this command.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

from catalog_lib.adapters.postgres import get_schema_status, resolve_database
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.core.settings import Settings
from flows.cli.output import JSON_OPTION, emit, handle_errors, load_settings
from flows.runtime import secret_value
from flows.stack.console_process import (
    console_env,
    console_url,
    free_port,
    streamlit_command,
)
from flows.stack.prefect_server import ensure_prefect_server

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def actions_mode(host: str) -> str:
    """What the console allows when no OIDC provider is configured, for the start-up line."""
    if host in LOOPBACK_HOSTS or host.startswith("127."):
        return "local operator on loopback (or OIDC sign-in when [auth] is configured)"
    return "OIDC sign-in required: read-only unless [auth] is configured in .streamlit/secrets.toml"


def bind_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    """The console's host and port: options first, then CATALOG_CONSOLE_HOST/PORT (0: free)."""
    bind_host = host or settings.console_host
    bind_port = settings.console_port if port is None else port
    return bind_host, bind_port or free_port(bind_host)


def console(
    host: Annotated[
        str | None,
        typer.Option(help="Listen address (default: CATALOG_CONSOLE_HOST, 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port (default: CATALOG_CONSOLE_PORT, 8501; 0: a free port)."),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the ops console (Streamlit) in the foreground until interrupted."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        state_dir = settings.state_dir.resolve()
        target = resolve_database(
            secret_value(settings.database_url), state_dir, settings.pg_bin_dir
        )
        schema = get_schema_status(target.url)
        if not schema.is_current:
            raise ConfigurationError(
                f"the database schema is at {schema.revision or 'nothing'}, not {schema.head}; "
                "run `catalog-etl db upgrade`"
            )
        prefect = ensure_prefect_server(state_dir)
        bind_host, bind_port = bind_address(settings, host, port)
        command = streamlit_command(bind_host, bind_port)
    url = console_url(bind_host, bind_port)
    document = {
        "console": url,
        "host": bind_host,
        "port": bind_port,
        "prefect_api": prefect.api_url,
        "actions": actions_mode(bind_host),
    }
    emit(
        document,
        as_json=as_json,
        text=lambda: typer.echo(
            f"console on {url} (actions: {document['actions']}); Prefect API {prefect.api_url}",
            err=True,
        ),
    )
    try:
        # With --json, stdout holds only the document: Streamlit's own lines go to stderr.
        code = subprocess.call(
            command,
            env=console_env(state_dir, prefect.api_url, prefect.auth_string),
            stdout=sys.stderr if as_json else None,
        )
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
