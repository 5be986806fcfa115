"""`catalog-etl webhook [--host] [--port]` serves the scraper webhook; `webhook sign` signs a body.

Neither imports prefect: runs are started through the Prefect REST API.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from catalog_lib.adapters.postgres import get_schema_status
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.rules.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from flows.cli.output import JSON_OPTION, ExitCode, emit, fail, handle_errors, load_settings
from flows.runtime import build_runtime
from flows.stack.prefect_server import use_prefect_server
from flows.stack.serve_process import read_serve, secret_path

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
        bool,
        typer.Option("--curl", help="Print a ready curl command instead.", show_default=False),
    ] = False,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="POST the signed body to the webhook and print its response.",
            show_default=False,
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            help="Webhook URL (default: the running local stack's webhook, else "
            "CATALOG_WEBHOOK_HOST:CATALOG_WEBHOOK_PORT)."
        ),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Sign a body for the webhook: print its two headers, a curl command, or send it.

    The secret is the first of CATALOG_WEBHOOK_SECRET, else the one `catalog-etl up`
    generated ($CATALOG_HOME/run/webhook-secret).
    """
    settings = load_settings(as_json)
    state_dir = settings.state_dir.resolve()
    secret = _signing_secret(settings.webhook_secrets(), secret_path(state_dir))
    if secret is None:
        fail(
            "no webhook secret: set CATALOG_WEBHOOK_SECRET, or start the local stack with "
            "`catalog-etl up` (it generates one)",
            code=ExitCode.REFUSED,
            as_json=as_json,
            kind="configuration",
        )
    try:
        body = file.read_bytes() if file is not None else sys.stdin.buffer.read()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}", code=ExitCode.REFUSED, as_json=as_json)
    headers = sign(body, secret, int(time.time()))
    target = url or webhook_url(settings.webhook_host, settings.webhook_port, state_dir)
    if send:
        _send(target, headers, body, as_json=as_json)
        return
    command = _curl_command(target, headers, body, file) if curl else None
    document: dict[str, object] = {"headers": headers, "url": target}
    if command is not None:
        document["curl"] = command

    def text() -> None:
        if command is not None:
            typer.echo(command)
            return
        for name in (TIMESTAMP_HEADER, SIGNATURE_HEADER):
            typer.echo(f"{name}: {headers[name]}")

    emit(document, as_json=as_json, text=text)


def _signing_secret(configured: list[str], generated: Path) -> str | None:
    """CATALOG_WEBHOOK_SECRET's first secret, else the secret `up` generated, else None."""
    if configured:
        return configured[0]
    try:
        return generated.read_text().strip() or None
    except (FileNotFoundError, PermissionError):
        return None


def webhook_url(host: str, port: int, state_dir: Path) -> str:
    """`/v1/ingest` of the running local stack's webhook, else of the configured address."""
    served = read_serve(state_dir)
    if served is not None and served.webhook:
        return f"{served.webhook}/v1/ingest"
    return f"http://{host}:{port or 8787}/v1/ingest"


def _send(url: str, headers: dict[str, str], body: bytes, *, as_json: bool) -> None:
    """POST the signed body; print the response; exit 0 on 2xx, 1 otherwise."""
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=30.0,
        )
    except httpx.HTTPError as exc:
        fail(
            f"cannot reach the webhook at {url} ({type(exc).__name__}); is the stack up? "
            "(`catalog-etl status`)",
            code=ExitCode.FAILED,
            as_json=as_json,
            kind="webhook_unreachable",
        )
    try:
        answer: object = response.json()
    except ValueError:
        answer = response.text[:2000]
    document = {"url": url, "status_code": response.status_code, "response": answer}

    def text() -> None:
        typer.echo(f"HTTP {response.status_code} from {url}")
        typer.echo(json.dumps(answer, indent=2) if not isinstance(answer, str) else answer)

    emit(document, as_json=as_json, text=text)
    if not response.is_success:
        raise typer.Exit(int(ExitCode.FAILED))


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
