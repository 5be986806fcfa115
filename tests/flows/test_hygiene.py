"""Secrets and data hygiene across failure paths (#12 suite 6).

Each test drives real failure paths (a malformed file, rejected rows, a source overwritten
mid-job, an unreachable S3 endpoint, an unreachable or refusing database, webhook refusals)
with canaries planted in row content and in every secret, then reads back everything an
operator or a third party could see — Python log records with their tracebacks, Prefect's
run logs, artifacts and persisted results, Sentry envelopes, the job's stored error, CLI
output and HTTP responses, and every file under `$CATALOG_HOME` — and checks that no canary
appears and that nothing under `$CATALOG_HOME` is readable by group or others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from typer.testing import CliRunner

from catalog_lib.core.settings import get_settings
from catalog_lib.core.sizes import parse_size
from catalog_lib.ingest import steps
from flows import ingest as ingest_module
from flows.cli.app import app as cli_app
from flows.runtime import get_runtime
from tests.factories import catalog_row, job_row, to_csv
from tests.fixtures_s3 import S3Server
from tests.sentry_memory import FAKE_DSN, MemoryTransport, memory_sentry

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

ROW_CANARY = "RowCanary9e1d"
SECRET_CANARY = "SecretCanary4f2a7c"
SENTRY_KEY = urlsplit(FAKE_DSN).username or ""


@dataclass
class Watch:
    """Everything a failure path made visible, gathered for "does X appear anywhere" checks."""

    records: list[str] = field(default_factory=list)
    flow_runs: set[uuid.UUID] = field(default_factory=set)
    texts: dict[str, str] = field(default_factory=dict)


class _Collector(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # The formatted line plus its traceback and every extra field, as a handler would see.
        self.sink.append(f"{self.format(record)} {record.__dict__!r}")


@pytest.fixture
def watch() -> Iterator[Watch]:
    """Collect every log record (any logger, DEBUG and up) while the test runs."""
    found = Watch()
    handler = _Collector(found.records)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield found
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def sentry() -> Iterator[MemoryTransport]:
    """Sentry initialised with the product's scrubbers and an in-memory transport."""
    with memory_sentry() as transport:
        yield transport


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trigger(key: str, data: bytes) -> uuid.UUID:
    rt = get_runtime()
    rt.store.write(key, data)
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key=key, scraper_revision="t", chunk_size=parse_size("1KiB")
    )
    assert trigger.created
    return trigger.job_id


def _run(job_id: uuid.UUID, found: Watch) -> dict[str, Any]:
    state = ingest_module.configured_flow()(job_id=str(job_id), label="hygiene", return_state=True)
    found.flow_runs.add(state.state_details.flow_run_id)
    job = job_row(get_runtime().database_url, job_id)
    found.texts[f"job {job_id} error"] = f"{job['error_kind']} {job['error_message']}"
    return job


def _prefect_texts(flow_runs: set[uuid.UUID]) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def read() -> dict[str, str]:
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=list(flow_runs)))
            )
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(flow_runs)))
            )
            artifacts = await client.read_artifacts()
        return {
            "prefect logs": "\n".join(log.message for log in logs),
            "prefect states": "\n".join(f"{r.state.message if r.state else ''}" for r in runs),
            "prefect artifacts": "\n".join(f"{a.key} {a.description} {a.data}" for a in artifacts),
        }

    return asyncio.run(read())


def _files(root: Path) -> dict[str, str]:
    return {
        str(path): path.read_bytes().decode("utf-8", "replace")
        for path in root.rglob("*")
        if path.is_file()
    }


def _assert_nothing_leaks(found: Watch, canaries: dict[str, str]) -> None:
    texts = {**found.texts, "log records": "\n".join(found.records)}
    for what, canary in canaries.items():
        assert canary, what
        leaks = [where for where, text in texts.items() if canary in text]
        assert not leaks, f"{what} appears in {leaks}"


def _assert_home_is_private(home: Path) -> None:
    if not home.exists():  # nothing was written there on this path
        return
    exposed = [
        str(path)
        for path in [home, *home.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    ]
    assert not exposed


def test_ingest_failure_paths_leak_no_rows_or_secrets(
    flow_env: Path,
    s3_server: S3Server,
    s3_env: None,
    watch: Watch,
    sentry: MemoryTransport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    results = Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])
    results_before = set(_files(results))
    monkeypatch.setenv("CATALOG_SENTRY_DSN", FAKE_DSN)
    monkeypatch.setenv("CATALOG_WEBHOOK_SECRET", SECRET_CANARY + "-webhook")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    rows = [catalog_row(i, name=f"Tent {ROW_CANARY} {i}") for i in range(30)]

    # 1. A malformed file: a quote left open at the end of the file, after row content.
    malformed = _run(
        _trigger("bad/open-quote.csv", to_csv(rows) + f'"{ROW_CANARY}'.encode()), watch
    )
    # 2. Rows the validator rejects, each carrying the canary in several cells.
    rejected = [catalog_row(i, sku=f"{ROW_CANARY} {i}", price=ROW_CANARY) for i in range(8)]
    partly_rejected = _run(_trigger("bad/rejected.csv", to_csv(rows[:10] + rejected)), watch)
    # 3. A source overwritten between trigger and run.
    job_id = _trigger("bad/overwritten.csv", to_csv(rows))
    get_runtime().store.write("bad/overwritten.csv", to_csv(rows[:29]))
    overwritten = _run(job_id, watch)
    # 4. S3 credentials that carry the canary, against an endpoint that goes away.
    bucket = f"hygiene-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    monkeypatch.setenv("CATALOG_LANDING_URL", f"s3://{bucket}/landing")
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("CATALOG_S3_REGION", "us-east-1")
    monkeypatch.setenv("CATALOG_S3_ACCESS_KEY_ID", "hygiene-access-key")
    monkeypatch.setenv("CATALOG_S3_SECRET_ACCESS_KEY", SECRET_CANARY)
    monkeypatch.setenv("CATALOG_S3_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    job_id = _trigger("v2/trailco/a.csv", to_csv(rows))
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    unreachable = _run(job_id, watch)

    assert (malformed["status"], malformed["error_kind"]) == ("failed", "malformed_csv")
    assert (partly_rejected["status"], partly_rejected["total_invalid"]) == ("completed", 8)
    assert overwritten["status"] == "failed"
    assert unreachable["status"] == "failed"
    assert any(r.startswith("catalog_lib") for r in watch.records), "product logs not captured"
    sentry_flush()
    assert sentry.envelopes, "the failures above must reach Sentry for this check to mean anything"
    watch.texts["sentry"] = sentry.serialized()
    watch.texts.update(_prefect_texts(watch.flow_runs))
    watch.texts.update(
        {f"result {p}": t for p, t in _files(results).items() if p not in results_before}
    )
    home = Path(os.environ["CATALOG_HOME"])
    watch.texts.update({f"home {p}": t for p, t in _files(home).items()})
    password = urlsplit(get_runtime().database_url).password or ""
    _assert_nothing_leaks(
        watch,
        {
            "row content": ROW_CANARY,
            "S3 secret key": SECRET_CANARY,
            "database password": password,
            "Sentry DSN key": SENTRY_KEY,
        },
    )
    _assert_home_is_private(home)


def sentry_flush() -> None:
    """Send what the SDK still buffers to the memory transport."""
    import sentry_sdk

    sentry_sdk.get_client().flush(timeout=2)


@pytest.mark.parametrize("reachable", [True, False], ids=["wrong-password", "unreachable"])
def test_database_failures_never_show_the_dsn(
    db_url: str, catalog_env: Path, watch: Watch, monkeypatch: pytest.MonkeyPatch, reachable: bool
) -> None:
    parts = urlsplit(db_url)
    port = parts.port if reachable else _closed_port()
    bad_url = f"postgresql://{parts.username}:{quote(SECRET_CANARY)}@127.0.0.1:{port}/x"
    monkeypatch.setenv("CATALOG_DATABASE_URL", bad_url)
    get_settings.cache_clear()
    get_runtime.cache_clear()
    try:
        for args in (["jobs"], ["jobs", "--json"], ["db", "status"]):
            result = CliRunner().invoke(cli_app, args)
            assert result.exit_code != 0, args
            watch.texts[f"cli {args}"] = f"{result.stdout} {result.stderr} {result.exception!r}"
    finally:
        get_settings.cache_clear()
        get_runtime.cache_clear()
    _assert_nothing_leaks(watch, {"database password": SECRET_CANARY, "database URL": bad_url})
    _assert_home_is_private(catalog_env)


def test_webhook_refusals_never_show_the_secret_or_landing_path(
    flow_env: Path, prefect_api: str, watch: Watch
) -> None:
    import json
    import time

    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from catalog_lib.core.settings import Settings
    from catalog_lib.rules.signing import sign
    from flows.webhook.app import create_app

    secret = SECRET_CANARY + "-webhook"
    settings = Settings(webhook_secret=SecretStr(secret))
    body = json.dumps(
        {"source": "trailco", "scraperRevision": "r1", "objectKeys": ["v2/trailco/missing.csv"]}
    ).encode()
    now = int(time.time())
    attempts = {
        "unsigned": {},
        "wrong secret": sign(body, "not-the-secret", now),
        "stale": sign(body, secret, now - 3600),
        "missing object": sign(body, secret, now),
        "escape": sign(body.replace(b"v2/trailco/missing.csv", b"../../etc/passwd"), secret, now),
    }
    with TestClient(create_app(settings=settings, prefect_api_url=prefect_api)) as client:
        for what, headers in attempts.items():
            content = (
                body.replace(b"v2/trailco/missing.csv", b"../../etc/passwd")
                if (what == "escape")
                else body
            )
            response = client.post(
                "/v1/ingest",
                content=content,
                headers=headers | {"Content-Type": "application/json"},
            )
            assert 400 <= response.status_code < 500, (what, response.status_code)
            watch.texts[f"response {what}"] = f"{response.headers!r} {response.text}"

    _assert_nothing_leaks(
        watch, {"webhook secret": secret, "landing path": str(flow_env.resolve())}
    )
