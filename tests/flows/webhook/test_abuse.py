"""Webhook abuse: fuzzed requests (schemathesis), clock skew, huge and nested bodies, floods.

Every test asserts the two promises of docs/webhook.md under hostile input: no 5xx answer for
anything a client can send, and nothing triggered (no job row, no flow run) by a request that
is not accepted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.prefect_rest import DeploymentRunner
from catalog_lib.core.settings import Settings
from catalog_lib.rules.signing import sign
from flows.webhook.app import INGEST_PATH, create_app
from flows.webhook.server import start_webhook_thread
from tests.factories import catalog_row, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

SECRET = "abuse-webhook-secret-0123456789abcdef"
KEY = "v2/trailco/trailco_abuse.csv"
# Its own deployment name: no test serves it, so the runs created here stay scheduled.
DEPLOYMENT = "webhook-abuse-test"
WINDOW_S = 300


@pytest.fixture(scope="session")
def abuse_deployment(prefect_api: str) -> Iterator[str]:
    """The ingest flow under a test-only deployment name (no worker runs it)."""
    from flows.ingest import ingest_catalog

    deployment_id = str(ingest_catalog.to_deployment(name=DEPLOYMENT).apply())
    yield deployment_id
    for run in _runs(prefect_api, deployment_id):
        httpx.delete(f"{prefect_api}/flow_runs/{run['id']}", timeout=10)
    httpx.delete(f"{prefect_api}/deployments/{deployment_id}", timeout=10)


def _make_app(prefect_api: str) -> FastAPI:
    app = create_app(
        settings=Settings(webhook_secret=SecretStr(SECRET)), prefect_api_url=prefect_api
    )
    app.state.service.runner = DeploymentRunner(prefect_api, deployment_name=DEPLOYMENT)
    return app


@pytest.fixture
def abuse_app(flow_env: Path, prefect_api: str, abuse_deployment: str) -> FastAPI:
    """The webhook app on a landing folder that holds one valid catalog file."""
    path = flow_env / KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv([catalog_row(i) for i in range(3)]))
    return _make_app(prefect_api)


def _runs(api: str, deployment_id: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{api}/flow_runs/filter",
        json={"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200},
        timeout=10,
    )
    response.raise_for_status()
    runs: list[dict[str, Any]] = response.json()
    return runs


def _job_count(db_url: str) -> int:
    with connect(db_url) as conn:
        row = conn.execute("SELECT count(*) AS n FROM etl_jobs").fetchone()
    return int(row["n"]) if row else 0


def _signed_post(client: TestClient, body: bytes, *, at: int | None = None) -> httpx.Response:
    signed = sign(body, SECRET, int(time.time()) if at is None else at)
    return client.post(
        INGEST_PATH, content=body, headers=signed | {"Content-Type": "application/json"}
    )


def _valid_body() -> bytes:
    return json.dumps({"source": "trailco", "scraperRevision": "r1", "objectKeys": [KEY]}).encode()


FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def _operations(app: FastAPI) -> list[Any]:
    """Every operation of the webhook's own OpenAPI document, loaded in-process over ASGI."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(o.method.upper(), o.path) for o in operations} >= {("POST", INGEST_PATH)}
    return operations


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_fuzzed_requests_without_a_valid_signature_trigger_nothing(
    abuse_app: FastAPI, db_url: str, prefect_api: str, abuse_deployment: str
) -> None:
    runs = len(_runs(prefect_api, abuse_deployment))
    for operation in _operations(abuse_app):

        @given(case=operation.as_strategy())
        @FUZZ
        def fuzz(case: Any) -> None:
            response = case.call()
            assert response.status_code < 500, response.text
            if case.path == INGEST_PATH:
                # Generated signature headers are never valid for the generated body.
                assert response.status_code in (401, 413), response.text

        fuzz()
    # Job rows and flow runs only ever grow: none at the end means none was ever created.
    assert _job_count(db_url) == 0
    assert len(_runs(prefect_api, abuse_deployment)) == runs


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_fuzzed_bodies_with_a_valid_signature_never_get_a_5xx(
    abuse_app: FastAPI, db_url: str
) -> None:
    [operation] = [o for o in _operations(abuse_app) if o.path == INGEST_PATH]
    with TestClient(abuse_app) as client:

        @given(case=operation.as_strategy())
        @FUZZ
        def fuzz(case: Any) -> None:
            body = case.body if isinstance(case.body, dict | list) else None
            response = _signed_post(client, json.dumps(body).encode())
            assert response.status_code < 500, response.text
            assert response.status_code in (202, 413, 422), response.text

        fuzz()
    # The landing folder holds one file: whatever was accepted can only be that file's job.
    assert _job_count(db_url) <= 1


@pytest.mark.parametrize(
    ("skew", "status"),
    [
        pytest.param(-WINDOW_S - 3600, 401, id="an-hour-old"),
        pytest.param(-WINDOW_S - 1, 401, id="just-stale"),
        pytest.param(-WINDOW_S, 202, id="oldest-accepted"),
        pytest.param(0, 202, id="now"),
        pytest.param(WINDOW_S, 202, id="furthest-future-accepted"),
        pytest.param(WINDOW_S + 1, 401, id="just-in-future"),
        pytest.param(10**12, 401, id="far-future"),
    ],
)
def test_clock_skew_is_accepted_only_inside_the_window(
    abuse_app: FastAPI, db_url: str, skew: int, status: int
) -> None:
    now = 1_800_000_000
    abuse_app.state.service.clock = lambda: float(now)
    with TestClient(abuse_app) as client:
        response = _signed_post(client, _valid_body(), at=now + skew)
    assert response.status_code == status, response.text
    assert _job_count(db_url) == (1 if status == 202 else 0)


@pytest.mark.parametrize(
    "timestamp",
    ["-1", "1e9", "0x10", "", " 1800000000", "9" * 400, "NaN"],
    ids=["negative", "float", "hex", "empty", "leading-space", "huge", "nan"],
)
def test_malformed_timestamps_get_401(abuse_app: FastAPI, db_url: str, timestamp: str) -> None:
    body = _valid_body()
    signed = sign(body, SECRET, int(time.time()))
    with TestClient(abuse_app) as client:
        response = client.post(
            INGEST_PATH,
            content=body,
            headers=signed | {"X-Catalog-Timestamp": timestamp},
        )
    assert response.status_code == 401, response.text
    assert _job_count(db_url) == 0


def _nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [50, 900, 6_000])
def test_deeply_nested_bodies_get_422_not_500(
    abuse_app: FastAPI, db_url: str, prefect_api: str, abuse_deployment: str, kind: str, depth: int
) -> None:
    body = _nested(depth, kind)
    runs = len(_runs(prefect_api, abuse_deployment))
    with TestClient(abuse_app) as client:
        signed = _signed_post(client, body)
        unsigned = client.post(INGEST_PATH, content=body)
    assert signed.status_code == 422, signed.text
    assert signed.json()["error"] in ("invalid_json", "invalid_body")
    assert unsigned.status_code == 401
    assert _job_count(db_url) == 0
    assert len(_runs(prefect_api, abuse_deployment)) == runs


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"1" * 5000, id="integer-over-4300-digits"),
        pytest.param(b'{"source": ' + b"9" * 5000 + b"}", id="huge-integer-field"),
        pytest.param(b'"' + b"\\ud800" + b'"', id="lone-surrogate-escape"),
        pytest.param(b'{"source": NaN}', id="nan"),
        pytest.param(b"\x00" * 100, id="nul-bytes"),
        pytest.param('{"source": "é"}'.encode("utf-16"), id="utf-16"),
    ],
)
def test_hostile_json_gets_422(abuse_app: FastAPI, db_url: str, body: bytes) -> None:
    with TestClient(abuse_app) as client:
        response = _signed_post(client, body)
    assert response.status_code == 422, response.text
    assert _job_count(db_url) == 0


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_oversized_bodies_get_413_before_anything_else(
    abuse_app: FastAPI, db_url: str, signed: bool
) -> None:
    limit = abuse_app.state.service.max_body_bytes
    body = b"[" + b" " * limit + b"]"
    with TestClient(abuse_app) as client:
        response = _signed_post(client, body) if signed else client.post(INGEST_PATH, content=body)
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")
    assert _job_count(db_url) == 0


def test_a_body_exactly_at_the_limit_is_read(abuse_app: FastAPI, db_url: str) -> None:
    limit = abuse_app.state.service.max_body_bytes
    valid = _valid_body()
    body = valid + b" " * (limit - len(valid))
    with TestClient(abuse_app) as client:
        response = _signed_post(client, body)
    assert response.status_code == 202, response.text
    assert _job_count(db_url) == 1


@pytest.mark.slow
def test_fifty_concurrent_identical_deliveries_start_one_job(
    abuse_app: FastAPI, db_url: str, prefect_api: str, abuse_deployment: str
) -> None:
    server = start_webhook_thread(abuse_app)
    body = _valid_body()
    headers = sign(body, SECRET, int(time.time())) | {"Content-Type": "application/json"}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:

            def deliver(_: int) -> httpx.Response:
                return http.post(INGEST_PATH, content=body, headers=headers)

            with ThreadPoolExecutor(max_workers=50) as pool:
                responses = list(pool.map(deliver, range(50)))
    finally:
        server.stop()
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), [r.text for r in responses]
    accepted = [r.json() for r in responses if r.status_code == 202]
    assert accepted, statuses
    assert len({d["job_id"] for d in accepted}) == 1
    assert len({d["flow_run_id"] for d in accepted}) == 1
    # One signed delivery sent 50 times: the replay cache answers every copy with the first
    # receipt, so each one says the same thing and only the first did any work.
    assert all(d == accepted[0] for d in accepted)
    assert accepted[0]["duplicate_of"] is None
    assert _job_count(db_url) == 1
    runs = [
        r
        for r in _runs(prefect_api, abuse_deployment)
        if r["parameters"].get("job_id") == accepted[0]["job_id"]
    ]
    assert len(runs) == 1
