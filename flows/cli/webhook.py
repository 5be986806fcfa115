"""`catalog-etl webhook [--host] [--port]` serves the scraper webhook; `webhook sign` signs a body.

Neither imports prefect: runs are started through the Prefect REST API.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from catalog_lib.adapters.postgres import get_schema_status
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.rules.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from flows.cli.output import JSON_OPTION, ExitCode, emit, fail, handle_errors, load_settings
from flows.runtime import build_runtime
from flows.stack.prefect_server import use_prefect_server

webhook_app = typer.Typer(
    help="The signed scraper webhook: serve it (no sub-command), or sign a body for it."
)


@webhook_app.callback(invoke_without_command=True)
def webhook(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Listen address (default: CATALOG_WEBHOOK_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: CATALOG_WEBHOOK_PORT; 0: a free port).")
    ] = None,
) -> None:
    """Serve POST /v1/ingest (OpenAPI at /docs) until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from flows.webhook.app import create_app
    from flows.webhook.server import serve_webhook
    from flows.webhook.service import require_secrets

    settings = load_settings(False)
    with handle_errors(False):
        require_secrets(settings)
        runtime = build_runtime(settings)
        schema = get_schema_status(runtime.database_url)
        if not schema.is_current:
            raise ConfigurationError(
                f"the database schema is at {schema.revision or 'nothing'}, not {schema.head}; "
                "run `catalog-etl db upgrade`"
            )
        # Also exports the local server's auth string for the webhook's REST client.
        api_url = use_prefect_server(settings.state_dir).api_url
        app = create_app(settings=settings, prefect_api_url=api_url, runtime=runtime)
    bind_host = host or settings.webhook_host
    bind_port = settings.webhook_port if port is None else port
    typer.echo(
        f"webhook on http://{bind_host}:{bind_port}/v1/ingest (OpenAPI: /docs); "
        f"Prefect API {api_url}",
        err=True,
    )
    serve_webhook(app, host=bind_host, port=bind_port)


@webhook_app.command("sign")
def sign_body(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="The JSON body to sign (default: read stdin).", dir_okay=False),
    ] = None,
    curl: Annotated[
        bool, typer.Option("--curl", help="Print a ready curl command for the local webhook.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(help="Webhook URL for --curl (default: the configured host and port)."),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the two signature headers for a body (signed with the first active secret)."""
    settings = load_settings(as_json)
    secrets = settings.webhook_secrets()
    if not secrets:
        fail(
            "set CATALOG_WEBHOOK_SECRET to sign a body",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="configuration",
        )
    try:
        body = file.read_bytes() if file is not None else sys.stdin.buffer.read()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=ExitCode.REFUSED, as_json=as_json)
    headers = sign(body, secrets[0], int(time.time()))
    target = url or f"http://{settings.webhook_host}:{settings.webhook_port or 8787}/v1/ingest"
    command = _curl_command(target, headers, body, file) if curl else None
    document: dict[str, object] = {"headers": headers}
    if command is not None:
        document["curl"] = command

    def text() -> None:
        if command is not None:
            typer.echo(command)
            return
        for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER):
            typer.echo(f"{name}: {headers[name]}")

    emit(document, as_json=as_json, text=text)


def _curl_command(url: str, headers: dict[str, str], body: bytes, file: Path | None) -> str:
    if file is not None:
        data = "@" + str(file)
    else:
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            data = "@-"  # not representable on a command line: pipe the same bytes again
    parts = ["curl", "-sS", "-X", "POST", url, "-H", "Content-Type: application/json"]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", data]
    return shlex.join(parts)
