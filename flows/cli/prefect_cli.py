"""`catalog-etl prefect …`: Prefect's own CLI against the server the product uses."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from flows.cli.output import handle_errors, load_settings
from flows.cli.startup import start_prefect

PREFECT_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


def prefect(ctx: typer.Context) -> None:
    """Run Prefect's CLI against the stack's server, e.g. `catalog-etl prefect deployment ls`.

    PREFECT_API_URL (and the local server's auth string) are set for it; without
    PREFECT_API_URL in the environment the local server under $CATALOG_HOME is used (and
    started if needed), never Prefect's temporary one.
    """
    settings = load_settings(False)
    with handle_errors(False):
        server = start_prefect(settings)
    child_env = {**os.environ, "PREFECT_API_URL": server.api_url, "DO_NOT_TRACK": "1"}
    if server.auth_string:
        child_env["PREFECT_API_AUTH_STRING"] = server.auth_string
    result = subprocess.run(
        [sys.executable, "-m", "prefect", *ctx.args], env=child_env, check=False
    )
    raise typer.Exit(result.returncode)
