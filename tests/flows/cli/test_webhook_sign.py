"""`webhook sign` on the local stack: its URL and generated secret, `--send` (no DB, no Prefect)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog_lib.core.errors import SignatureError
from catalog_lib.core.settings import get_settings
from catalog_lib.rules.signing import verify
from flows.cli.app import app
from flows.stack.serve_process import ServeProcess, ensure_local_secret, write_record

BODY = b'{"source":"trailco","scraperRevision":"t","objectKeys":["v2/trailco/a.csv"]}'


class _Webhook(BaseHTTPRequestHandler):
    """A stand-in webhook that checks the signature with the stack's secret."""

    secret = ""
    received: list[dict[str, Any]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify(body, dict(self.headers.items()), [self.secret], int(time.time()))
        except SignatureError:
            status, answer = 401, {"error": "invalid_signature"}
        else:
            status, answer = 202, {"accepted": 1, "path": self.path}
            self.received.append(json.loads(body))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def stack(catalog_env: Path) -> Iterator[tuple[str, str]]:
    """A recorded `serve` whose webhook is a local stand-in; (webhook URL, generated secret)."""
    get_settings.cache_clear()
    secret = ensure_local_secret(catalog_env).read_text().strip()
    _Webhook.secret = secret
    _Webhook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    write_record(
        catalog_env, ServeProcess(pid=os.getpid(), webhook=url, prefect_api="x", log_file=None)
    )
    yield url, secret
    server.shutdown()
    server.server_close()
    get_settings.cache_clear()


def _sign(*args: str) -> Any:
    return CliRunner().invoke(app, ["webhook", "sign", *args], input=BODY.decode())


def test_sign_uses_the_stacks_url_and_generated_secret(stack: tuple[str, str]) -> None:
    url, secret = stack
    result = _sign("--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["url"] == f"{url}/v1/ingest"
    verify(BODY, document["headers"], [secret], int(time.time()))
    curl = _sign("--curl")
    assert curl.stdout.startswith(f"curl -sS -X POST {url}/v1/ingest")


def test_send_posts_the_signed_body_to_the_stack(stack: tuple[str, str]) -> None:
    url, _ = stack
    result = _sign("--send", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["status_code"], document["response"]["path"]) == (202, "/v1/ingest")
    assert _Webhook.received == [json.loads(BODY)]
    text = _sign("--send")
    assert text.stdout.startswith(f"HTTP 202 from {url}/v1/ingest")


def test_a_configured_secret_wins_and_a_refused_send_exits_one(
    stack: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_WEBHOOK_SECRET", "another-secret-0123456789abcdef")
    get_settings.cache_clear()
    result = _sign("--send", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status_code"] == 401


def test_an_explicit_url_wins(stack: tuple[str, str]) -> None:
    result = _sign("--url", "http://127.0.0.1:9/v1/ingest", "--json")
    assert json.loads(result.stdout)["url"] == "http://127.0.0.1:9/v1/ingest"


def test_without_a_stack_the_configured_address_and_secret_are_used(
    catalog_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_WEBHOOK_SECRET", "configured-secret-0123456789abcdef")
    monkeypatch.setenv("CATALOG_WEBHOOK_PORT", "9911")
    get_settings.cache_clear()
    result = _sign("--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["url"] == "http://127.0.0.1:9911/v1/ingest"
    verify(BODY, document["headers"], ["configured-secret-0123456789abcdef"], int(time.time()))
    get_settings.cache_clear()


def test_no_secret_anywhere_exits_two(catalog_env: Path) -> None:
    get_settings.cache_clear()
    result = _sign("--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == "configuration"


def test_send_to_a_stack_that_is_down_fails_cleanly(
    catalog_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_WEBHOOK_SECRET", "configured-secret-0123456789abcdef")
    get_settings.cache_clear()
    result = _sign("--send", "--url", "http://127.0.0.1:9/v1/ingest")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the webhook")
    get_settings.cache_clear()
