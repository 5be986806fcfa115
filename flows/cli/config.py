"""`catalog-etl config` (the effective settings) and `catalog-etl env` (Prefect's CLI set-up).

`env` prints the shell environment that points Prefect's own CLI at the local stack's server.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import typer
from pydantic import SecretStr
from rich.table import Table

from catalog_lib.adapters.postgres import redact_url
from catalog_lib.core.settings import Settings
from flows.cli.output import JSON_OPTION, ExitCode, emit, fail, load_settings, make_console, shown
from flows.stack.prefect_server import auth_string_path, read_managed_server
from flows.stack.serve_process import secret_path

ENV_PREFIX = "CATALOG_"
MASK = "***"


def read_dotenv(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of a `.env` file (upper-cased keys; quotes and `export` removed)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().upper()] = value
    return values


def _display(name: str, value: Any) -> Any:
    """A setting's value for output: secrets masked, a database URL without its password."""
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        return redact_url(secret) if name == "database_url" else MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple | frozenset | set):
        return ",".join(str(v) for v in value)
    return value


def effective_settings(settings: Settings, *, dotenv: Path) -> list[dict[str, Any]]:
    """Every setting: its variable, displayed value and source (env, .env, stack file, default)."""
    environment = {k.upper(): v for k, v in os.environ.items()}
    from_file = read_dotenv(dotenv)
    state_dir = settings.state_dir
    entries: list[dict[str, Any]] = []
    for name in type(settings).model_fields:
        variable = f"{ENV_PREFIX}{name.upper()}"
        value = getattr(settings, name)
        if variable in environment:
            source = "env"
        elif variable in from_file:
            source = ".env"
        else:
            source = "default"
        entry = {"variable": variable, "value": _display(name, value), "source": source}
        if name == "webhook_secret" and value is None and secret_path(state_dir).is_file():
            entry.update(value=MASK, source=f"stack file {secret_path(state_dir)}")
        entries.append(entry)
    server = read_managed_server(state_dir)
    prefect_api = environment.get("PREFECT_API_URL")
    entries.append(
        {
            "variable": "PREFECT_API_URL",
            "value": prefect_api or (server.api_url if server else None),
            "source": "env"
            if prefect_api
            else (f"stack file {state_dir / 'run' / 'prefect-server.json'}" if server else "unset"),
        }
    )
    return entries


def config(as_json: bool = JSON_OPTION) -> None:
    """Show the effective settings (secrets masked) and where each value came from."""
    settings = load_settings(as_json)
    dotenv = Path.cwd() / ".env"
    entries = effective_settings(settings, dotenv=dotenv)
    document = {"settings": entries, "dotenv": str(dotenv), "home": str(settings.state_dir)}

    def text() -> None:
        table = Table("variable", "value", "source")
        for e in entries:
            table.add_row(e["variable"], shown(e["value"]), e["source"])
        make_console().print(table)

    emit(document, as_json=as_json, text=text)


def env(as_json: bool = JSON_OPTION) -> None:
    """Print `export` lines that point Prefect's CLI at the local stack: `eval "$(… env)"`."""
    settings = load_settings(as_json)
    state_dir = settings.state_dir
    server = read_managed_server(state_dir)
    if os.environ.get("PREFECT_API_URL"):
        fail(
            "PREFECT_API_URL is already set in this shell: Prefect's CLI uses that server",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="configuration",
        )
    if server is None:
        fail(
            "the local Prefect server is not running; start the stack with `catalog-etl up`",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="not_running",
        )
    auth_file = auth_string_path(state_dir)
    document = {
        "PREFECT_API_URL": server.api_url,
        "PREFECT_API_AUTH_STRING_FILE": str(auth_file),
        "DO_NOT_TRACK": "1",
    }

    def text() -> None:
        # The auth string is read from its 0600 file when the line is evaluated, never printed.
        typer.echo(f"export PREFECT_API_URL={shlex.quote(server.api_url)}")
        typer.echo(f'export PREFECT_API_AUTH_STRING="$(cat {shlex.quote(str(auth_file))})"')
        typer.echo("export DO_NOT_TRACK=1")

    emit(document, as_json=as_json, text=text)
