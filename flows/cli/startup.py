"""What a command says on stderr while it starts the local services it needs.

A cold start (PostgreSQL's first `initdb`, the Prefect server, importing Prefect) takes 15–25 s;
on a terminal each step gets one line so the wait is not silent. Restarting PostgreSQL after
`catalog-etl down` is said on stderr whether or not it is a terminal: it is a side effect the
operator did not ask for.
"""

from __future__ import annotations

import os
import sys

from catalog_lib.adapters.embedded_postgres import EmbeddedPostgres
from catalog_lib.core.settings import Settings
from flows.cli.output import note
from flows.stack.prefect_server import (
    PrefectServer,
    is_healthy,
    read_managed_server,
    use_prefect_server,
)


def on_terminal() -> bool:
    """Whether a person is likely watching stderr."""
    return sys.stderr.isatty()


def announce_database(settings: Settings) -> None:
    """Say that the embedded PostgreSQL server is about to be initialised or restarted."""
    if settings.database_url is not None:
        return
    server = EmbeddedPostgres(settings.state_dir / "pg", bin_dir=settings.pg_bin_dir)
    status = server.status()
    if status.running:
        return
    if (status.data_dir / "PG_VERSION").exists():
        note(
            f"PostgreSQL was stopped (`catalog-etl down`?): starting it again from "
            f"{status.data_dir}; `catalog-etl down` stops it"
        )
    elif on_terminal():
        note(f"initialising PostgreSQL in {status.data_dir} (first start, about 10 s)…")


def announce_prefect(settings: Settings) -> None:
    """Say that the local Prefect server is about to start (on a terminal)."""
    if not on_terminal() or os.environ.get("PREFECT_API_URL"):
        return
    server = read_managed_server(settings.state_dir.resolve())
    if server is not None and is_healthy(server.api_url):
        return
    note("starting the local Prefect server (10–20 s)…")


def announce(message: str) -> None:
    """One progress line on a terminal (nothing when piped)."""
    if on_terminal():
        note(message)


def start_prefect(settings: Settings) -> PrefectServer:
    """`use_prefect_server`, announced on a terminal while the server starts."""
    announce_prefect(settings)
    return use_prefect_server(settings.state_dir)
