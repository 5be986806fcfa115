"""The signed scraper webhook against real PostgreSQL, the Prefect test server and moto S3."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.prefect_rest import DeploymentRunner
from catalog_lib.adapters.storage import StorageConfig
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.core.settings import Settings
from catalog_lib.rules.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from flows.cli.app import app as cli_app
from flows.webhook.app import create_app
from flows.webhook.server import start_webhook_thread
from tests.factories import catalog_row, to_csv
from tests.fixtures_s3 import S3Server

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

SECRET = "current-webhook-secret-0123456789"
OLD_SECRET = "previous-webhook-secret-0123456789"
KEY = "v2/trailco/trailco_2026-05-14T16-54-05.csv"


# A deployment of the ingest flow under its own name: no test serves it, so the runs these
# tests create stay scheduled and never reach tests that serve `ingest-catalog`.
DEPLOYMENT = "webhook-test"


@pytest.fixture(scope="session")
def ingest_deployment(prefect_api: str) -> Iterator[str]:
    """The ingest flow's test deployment on the test server (no worker runs it)."""
    from flows.ingest import ingest_catalog

    deployment_id = str(ingest_catalog.to_deployment(name=DEPLOYMENT).apply())
    yield deployment_id
    for run in _runs(prefect_api, deployment_id):
        httpx.delete(f"{prefect_api}/flow_runs/{run['id']}", timeout=10)
    httpx.delete(f"{prefect_api}/deployments/{deployment_id}", timeout=10)


def _app(prefect_api: str, **settings: Any) -> Any:
    app = create_app(settings=_settings(**settings), prefect_api_url=prefect_api)
    app.state.service.runner = DeploymentRunner(prefect_api, deployment_name=DEPLOYMENT)
    return app


def _settings(**overrides: Any) -> Settings:
    return Settings(webhook_secret=SecretStr(f"{SECRET},{OLD_SECRET}"), **overrides)


@pytest.fixture
def client(flow_env: Path, prefect_api: str, ingest_deployment: str) -> Iterator[TestClient]:
    """A test client of the webhook on the local landing folder."""
    with TestClient(_app(prefect_api)) as test_client:
        yield test_client


def _write(landing: Path, key: str = KEY, rows: int = 5) -> None:
    path = landing / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv([catalog_row(i) for i in range(rows)]))


def _body(*keys: str, **extra: Any) -> bytes:
    document = {"source": "trailco", "scraperRevision": "abc123", "objectKeys": list(keys)}
    return json.dumps(document | extra).encode()


def _post(
    client: TestClient | httpx.Client,
    body: bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    signed = sign(body, secret, _fresh_timestamp() if timestamp is None else timestamp)
    return client.post(
        "/v1/ingest",
        content=body,
        headers=(signed if headers is None else headers) | {"Content-Type": "application/json"},
    )


_last_timestamp = 0


def _fresh_timestamp() -> int:
    """Now, but never a timestamp used before: each post is a new delivery, not a replay."""
    global _last_timestamp
    _last_timestamp = max(int(time.time()), _last_timestamp + 1)
    return _last_timestamp


def _job_rows(db_url: str) -> list[dict[str, Any]]:
    with connect(db_url) as conn:
        return conn.execute("SELECT * FROM etl_jobs ORDER BY created_at").fetchall()


def _runs(api: str, deployment_id: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{api}/flow_runs/filter",
        json={"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200},
        timeout=10,
    )
    response.raise_for_status()
    runs: list[dict[str, Any]] = response.json()
    return runs


def _runs_of_job(api: str, deployment_id: str, job_id: str) -> list[dict[str, Any]]:
    return [r for r in _runs(api, deployment_id) if r["parameters"].get("job_id") == job_id]


def test_signed_request_starts_one_job_and_one_run(
    client: TestClient, flow_env: Path, db_url: str, prefect_api: str, ingest_deployment: str
) -> None:
    _write(flow_env)
    response = _post(client, _body(KEY))
    assert response.status_code == 202, response.text
    doc = response.json()
    assert doc["duplicate_of"] is None
    assert doc["status"] == "pending"
    assert doc["source"] == "trailco"
    assert doc["object_key"].endswith("/" + KEY)
    [job] = _job_rows(db_url)
    assert (str(job["id"]), job["scraper_revision"]) == (doc["job_id"], "abc123")
    [run] = _runs_of_job(prefect_api, ingest_deployment, doc["job_id"])
    assert run["id"] == doc["flow_run_id"]
    assert run["idempotency_key"] == f"{DEPLOYMENT}:{doc['job_id']}:1"
    assert run["parameters"] == {"job_id": doc["job_id"], "label": KEY}
    assert run["state"]["type"] == "SCHEDULED"
    # The runs list filters by source and by the channel that started the run.
    assert {"source:trailco", "trigger:webhook"} <= set(run["tags"])

    again = _post(client, _body(KEY)).json()
    assert again["job_id"] == again["duplicate_of"] == doc["job_id"]
    assert again["flow_run_id"] == doc["flow_run_id"]
    assert len(_job_rows(db_url)) == 1
    assert len(_runs_of_job(prefect_api, ingest_deployment, doc["job_id"])) == 1


def test_single_object_key_and_filename(client: TestClient, flow_env: Path, db_url: str) -> None:
    _write(flow_env)
    body = json.dumps(
        {
            "source": "trailco",
            "scraperRevision": "r1",
            "object_key": KEY,
            "filename": KEY.rsplit("/", 1)[1],
        }
    ).encode()
    response = _post(client, body)
    assert response.status_code == 202, response.text
    assert [str(j["id"]) for j in _job_rows(db_url)] == [response.json()["job_id"]]


def test_several_keys_return_one_entry_each(
    client: TestClient, flow_env: Path, db_url: str, prefect_api: str, ingest_deployment: str
) -> None:
    _write(flow_env, "v2/trailco/a.csv")
    _write(flow_env, "v2/trailco/b.csv")
    response = _post(client, _body("v2/trailco/a.csv", "v2/trailco/b.csv", "v2/trailco/a.csv"))
    assert response.status_code == 202, response.text
    doc = response.json()
    assert doc["ignored"] == 0
    assert [j["object_key"].rsplit("/", 1)[1] for j in doc["jobs"]] == ["a.csv", "b.csv"]
    assert len(_job_rows(db_url)) == 2
    for job in doc["jobs"]:
        assert [r["id"] for r in _runs_of_job(prefect_api, ingest_deployment, job["job_id"])] == [
            job["flow_run_id"]
        ]


class _CountingStore:
    """Delegates to a real store and records every HEAD it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.heads: list[str] = []

    def head(self, uri: str) -> Any:
        self.heads.append(uri)
        return self.inner.head(uri)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_each_object_is_headed_exactly_once_per_delivery(
    client: TestClient, flow_env: Path, db_url: str
) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    store = _CountingStore(service.runtime.store)
    service.runtime = dataclasses.replace(service.runtime, store=store)
    _write(flow_env, "v2/trailco/a.csv")
    _write(flow_env, "v2/trailco/b.csv")

    response = _post(client, _body("v2/trailco/a.csv", "v2/trailco/b.csv"))
    assert response.status_code == 202, response.text
    keys = [j["object_key"] for j in response.json()["jobs"]]
    assert sorted(store.heads) == sorted(keys)
    assert len(store.heads) == 2

    store.heads.clear()
    again = _post(client, _body("v2/trailco/a.csv"))  # a re-delivery: HEADed once more, once
    assert again.status_code == 202, again.text
    assert store.heads == [again.json()["object_key"]]
    assert len(_job_rows(db_url)) == 2


def test_a_failed_job_is_retried_by_a_new_job_with_its_own_run(
    client: TestClient, flow_env: Path, db_url: str, prefect_api: str, ingest_deployment: str
) -> None:
    _write(flow_env)
    first = _post(client, _body(KEY)).json()
    with connect(db_url) as conn:
        conn.execute(
            "UPDATE etl_jobs SET status = 'failed', error_kind = 'crashed' WHERE id = %s",
            (first["job_id"],),
        )
        conn.commit()
    retry = _post(client, _body(KEY)).json()
    assert retry["job_id"] != first["job_id"]
    assert retry["duplicate_of"] is None
    assert retry["flow_run_id"] != first["flow_run_id"]
    [run] = _runs_of_job(prefect_api, ingest_deployment, retry["job_id"])
    assert run["idempotency_key"] == f"{DEPLOYMENT}:{retry['job_id']}:1"


def test_a_replayed_signature_gets_the_first_receipt_and_triggers_nothing(
    client: TestClient, flow_env: Path, db_url: str, prefect_api: str, ingest_deployment: str
) -> None:
    _write(flow_env)
    body = _body(KEY)
    captured = sign(body, SECRET, _fresh_timestamp())
    first = _post(client, body, headers=captured)
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    with connect(db_url) as conn:
        conn.execute(
            "UPDATE etl_jobs SET status = 'failed', error_kind = 'crashed' WHERE id = %s",
            (job_id,),
        )
        conn.commit()

    replay = _post(client, body, headers=captured)

    assert replay.status_code == 202, replay.text
    assert replay.json() == first.json()
    assert [str(j["id"]) for j in _job_rows(db_url)] == [job_id]
    assert len(_runs(prefect_api, ingest_deployment)) >= 1
    assert len(_runs_of_job(prefect_api, ingest_deployment, job_id)) == 1
    with connect(db_url) as conn:
        [row] = conn.execute("SELECT signature_hash, receipt FROM webhook_deliveries").fetchall()
    assert row["receipt"] == first.json()
    assert captured[SIGNATURE_HEADER] not in row["signature_hash"]

    # The same body signed at another second is a new delivery: the failed job is retried.
    fresh = _post(client, body)
    assert fresh.status_code == 202, fresh.text
    assert fresh.json()["job_id"] != job_id
    assert fresh.json()["duplicate_of"] is None
    assert len(_job_rows(db_url)) == 2


def test_a_rejected_request_is_not_remembered(
    client: TestClient, flow_env: Path, db_url: str
) -> None:
    body = _body(KEY)
    captured = sign(body, SECRET, _fresh_timestamp())
    missing = _post(client, body, headers=captured)
    assert (missing.status_code, missing.json()["error"]) == (422, "object_not_found")

    _write(flow_env)
    again = _post(client, body, headers=captured)

    assert again.status_code == 202, again.text
    assert [str(j["id"]) for j in _job_rows(db_url)] == [again.json()["job_id"]]


def _assert_nothing_triggered(db_url: str, prefect_api: str, deployment: str, runs: int) -> None:
    assert _job_rows(db_url) == []
    assert len(_runs(prefect_api, deployment)) == runs


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("missing", "signature_missing"),
        ("no-timestamp", "signature_missing"),
        ("wrong-secret", "signature_mismatch"),
        ("tampered", "signature_mismatch"),
        ("stale", "timestamp_stale"),
        ("future", "timestamp_in_future"),
        ("malformed", "signature_malformed"),
    ],
)
def test_bad_signatures_get_401_and_trigger_nothing(
    client: TestClient,
    flow_env: Path,
    db_url: str,
    prefect_api: str,
    ingest_deployment: str,
    case: str,
    code: str,
) -> None:
    _write(flow_env)
    runs = len(_runs(prefect_api, ingest_deployment))
    body = _body(KEY)
    now = int(time.time())
    signed = sign(body, SECRET, now)
    headers = {
        "missing": {},
        "no-timestamp": {SIGNATURE_HEADER: signed[SIGNATURE_HEADER]},
        "wrong-secret": sign(body, "not-the-secret-0123456789", now),
        "tampered": sign(body + b" ", SECRET, now),
        "stale": sign(body, SECRET, now - 301),
        "future": sign(body, SECRET, now + 301),
        "malformed": {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: "md5=abc"},
    }[case]
    response = _post(client, body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, code)
    _assert_nothing_triggered(db_url, prefect_api, ingest_deployment, runs)


def test_a_rotated_secret_still_listed_is_accepted(client: TestClient, flow_env: Path) -> None:
    _write(flow_env)
    assert _post(client, _body(KEY), secret=OLD_SECRET).status_code == 202


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_bodies_get_413(
    client: TestClient,
    flow_env: Path,
    db_url: str,
    prefect_api: str,
    ingest_deployment: str,
    chunked: bool,
) -> None:
    _write(flow_env)
    runs = len(_runs(prefect_api, ingest_deployment))
    body = _body(KEY, filename="x" * 70_000)
    headers = sign(body, SECRET, int(time.time()))
    content: Any = (
        iter([body[i : i + 4096] for i in range(0, len(body), 4096)]) if chunked else body
    )
    response = client.post("/v1/ingest", content=content, headers=headers)
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")
    _assert_nothing_triggered(db_url, prefect_api, ingest_deployment, runs)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[]", "invalid_body"),
        (_body(KEY, source="Trail Co"), "invalid_body"),
        (_body(KEY, scraperRevision=""), "invalid_body"),
        (_body(KEY, unexpected=1), "invalid_body"),
        (_body(KEY, object_key=KEY), "invalid_body"),
        (_body(), "invalid_body"),
        (_body(KEY, filename="other.csv"), "filename_mismatch"),
        (_body("v2/../../etc/passwd"), "invalid_object_key"),
        (_body("/etc/passwd"), "invalid_object_key"),
        (_body("s3://elsewhere/v2/trailco/a.csv"), "invalid_object_key"),
        (_body("file:///etc/passwd"), "invalid_object_key"),
        (_body("v2\\trailco\\a.csv"), "invalid_object_key"),
        (_body("v2/trailco/missing.csv"), "object_not_found"),
        (_body(KEY, "v2/trailco/missing.csv"), "object_not_found"),
        (json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}).encode(), "invalid_body"),
    ],
    ids=[
        "bad-json",
        "not-utf8",
        "not-an-object",
        "bad-slug",
        "empty-revision",
        "extra-field",
        "both-key-fields",
        "no-keys",
        "filename-mismatch",
        "dotdot",
        "absolute",
        "s3-url",
        "file-url",
        "backslash",
        "missing-object",
        "one-of-two-missing",
        "s3-event-without-s3",
    ],
)
def test_invalid_requests_get_422_and_trigger_nothing(
    client: TestClient,
    flow_env: Path,
    db_url: str,
    prefect_api: str,
    ingest_deployment: str,
    body: bytes,
    code: str,
) -> None:
    _write(flow_env)
    runs = len(_runs(prefect_api, ingest_deployment))
    response = _post(client, body)
    assert (response.status_code, response.json()["error"]) == (422, code), response.text
    _assert_nothing_triggered(db_url, prefect_api, ingest_deployment, runs)


def test_storage_events_need_an_s3_landing_root(client: TestClient, db_url: str) -> None:
    response = _post(client, json.dumps(_s3_event("bucket", KEY)).encode())
    assert (response.status_code, response.json()["error"]) == (422, "unsupported_event")
    assert _job_rows(db_url) == []


def test_unreachable_prefect_gets_503_and_creates_no_job(flow_env: Path, db_url: str) -> None:
    _write(flow_env)
    app = create_app(settings=_settings(), prefect_api_url="http://127.0.0.1:9/api")
    with TestClient(app) as test_client:
        response = _post(test_client, _body(KEY))
    assert (response.status_code, response.json()["error"]) == (503, "prefect_unavailable")
    assert _job_rows(db_url) == []


def test_missing_deployment_gets_503(client: TestClient, flow_env: Path, prefect_api: str) -> None:
    _write(flow_env)
    client.app.state.service.runner = DeploymentRunner(  # type: ignore[attr-defined]
        prefect_api, deployment_name="not-registered"
    )
    response = _post(client, _body(KEY))
    assert (response.status_code, response.json()["error"]) == (503, "deployment_not_found")


def test_twenty_concurrent_deliveries_start_exactly_one_ingest(
    flow_env: Path, db_url: str, prefect_api: str, ingest_deployment: str
) -> None:
    _write(flow_env)
    server = start_webhook_thread(_app(prefect_api))
    body = _body(KEY)
    headers = sign(body, SECRET, int(time.time())) | {"Content-Type": "application/json"}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:

            def deliver(_: int) -> httpx.Response:
                return http.post("/v1/ingest", content=body, headers=headers)

            with ThreadPoolExecutor(max_workers=20) as pool:
                responses = list(pool.map(deliver, range(20)))
    finally:
        server.stop()
    assert [r.status_code for r in responses] == [202] * 20, [r.json() for r in responses]
    docs = [r.json() for r in responses]
    # One delivery, replayed: every answer is the first receipt.
    assert all(d == docs[0] for d in docs)
    assert docs[0]["duplicate_of"] is None
    assert len(_job_rows(db_url)) == 1
    assert len(_runs_of_job(prefect_api, ingest_deployment, docs[0]["job_id"])) == 1


def _s3_event(bucket: str, key: str, name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": name,
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": "00"},
                },
            }
        ]
    }


def _r2_event(bucket: str, key: str, action: str = "PutObject") -> dict[str, Any]:
    return {
        "account": "3f4b7e3dcab231cbfdaa90a6a28bd548",
        "action": action,
        "bucket": bucket,
        "object": {"key": key, "size": 10, "eTag": "c846ff7a18f28c2e262116d6e8719ef0"},
        "eventTime": "2026-05-24T19:36:44.379Z",
    }


@pytest.fixture
def s3_client(
    flow_env: Path,
    s3_bucket: StorageConfig,
    s3_server: S3Server,
    prefect_api: str,
    ingest_deployment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[TestClient, str]]:
    """The webhook on an s3:// landing root (moto); yields the client and the bucket name."""
    monkeypatch.setenv("CATALOG_LANDING_URL", s3_bucket.landing_url)
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("CATALOG_S3_REGION", "us-east-1")
    monkeypatch.setenv("CATALOG_S3_ACCESS_KEY_ID", "testing-access-key")
    monkeypatch.setenv("CATALOG_S3_SECRET_ACCESS_KEY", "testing-secret-key")
    bucket = s3_bucket.landing_url.removeprefix("s3://").split("/")[0]
    s3_server.client().put_object(  # type: ignore[attr-defined]
        Bucket=bucket, Key="landing/v2/trailco/new file.csv", Body=to_csv([catalog_row(1)])
    )
    with TestClient(_app(prefect_api)) as test_client:
        yield test_client, bucket


@pytest.mark.s3
def test_s3_event_triggers_ingest_of_that_object(
    s3_client: tuple[TestClient, str], db_url: str, prefect_api: str, ingest_deployment: str
) -> None:
    client, bucket = s3_client
    # Keys in S3 event notifications are URL-encoded (a space is `+`).
    event = _s3_event(bucket, "landing/v2/trailco/new+file.csv")
    response = _post(client, json.dumps(event).encode())
    assert response.status_code == 202, response.text
    doc = response.json()
    assert doc["object_key"] == f"s3://{bucket}/landing/v2/trailco/new file.csv"
    [job] = _job_rows(db_url)
    assert (job["source"], job["scraper_revision"]) == ("trailco", "s3-event")
    [run] = _runs_of_job(prefect_api, ingest_deployment, doc["job_id"])
    assert run["parameters"]["label"] == "v2/trailco/new file.csv"


@pytest.mark.s3
def test_r2_event_triggers_ingest_of_that_object(
    s3_client: tuple[TestClient, str], db_url: str
) -> None:
    client, bucket = s3_client
    response = _post(
        client, json.dumps(_r2_event(bucket, "landing/v2/trailco/new file.csv")).encode()
    )
    assert response.status_code == 202, response.text
    [job] = _job_rows(db_url)
    assert (str(job["id"]), job["source"], job["scraper_revision"]) == (
        response.json()["job_id"],
        "trailco",
        "r2-event",
    )


@pytest.mark.s3
@pytest.mark.parametrize(
    "event",
    [
        _s3_event("BUCKET", "landing/v2/trailco/new+file.csv", name="ObjectRemoved:Delete"),
        _r2_event("BUCKET", "landing/v2/trailco/new file.csv", action="DeleteObject"),
    ],
    ids=["s3-removed", "r2-delete"],
)
def test_other_storage_events_are_ignored(
    s3_client: tuple[TestClient, str], db_url: str, event: dict[str, Any]
) -> None:
    client, _ = s3_client
    response = _post(client, json.dumps(event).encode())
    assert response.status_code == 202, response.text
    assert response.json() == {"jobs": [], "ignored": 1}
    assert _job_rows(db_url) == []


@pytest.mark.s3
@pytest.mark.parametrize(
    ("bucket", "key", "code"),
    [
        ("another-bucket", "landing/v2/trailco/new+file.csv", "bucket_mismatch"),
        (None, "elsewhere/v2/trailco/new+file.csv", "key_outside_landing"),
        (None, "landing/new+file.csv", "invalid_source"),
        (None, "landing/v2/Trail+Co/new+file.csv", "invalid_source"),
        (None, "landing/v2/trailco/%2E%2E/x.csv", "invalid_object_key"),
        (None, "landing/v2/trailco/absent.csv", "object_not_found"),
    ],
    ids=["bucket", "outside-prefix", "no-source-folder", "bad-slug", "dotdot", "missing"],
)
def test_bad_storage_events_get_422(
    s3_client: tuple[TestClient, str], db_url: str, bucket: str | None, key: str, code: str
) -> None:
    client, landing_bucket = s3_client
    response = _post(client, json.dumps(_s3_event(bucket or landing_bucket, key)).encode())
    assert (response.status_code, response.json()["error"]) == (422, code), response.text
    assert _job_rows(db_url) == []


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/ingest"]["post"]
    assert {p["name"] for p in post["parameters"]} == {TIMESTAMP_HEADER, SIGNATURE_HEADER}
    shapes = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert [s["$ref"].rsplit("/", 1)[1] for s in shapes] == ["IngestBody", "S3Event", "R2Event"]
    assert {"202", "401", "413", "422", "503"} <= set(post["responses"])
    assert "objectKeys" in spec["components"]["schemas"]["IngestBody"]["properties"]
    assert client.get("/docs").status_code == 200


def test_outcomes_are_logged_without_the_body(
    client: TestClient, flow_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(flow_env)
    caplog.set_level("INFO", logger="flows.webhook.app")
    _post(client, _body(KEY))
    _post(client, _body(KEY, source="Secret Value"), secret="wrong-secret-0123456789")
    events = [
        (getattr(r, "event", None), getattr(r, "code", None), getattr(r, "status", None))
        for r in caplog.records
        if r.name == "flows.webhook.app"
    ]
    assert events == [
        ("webhook.accepted", None, 202),
        ("webhook.rejected", "signature_mismatch", 401),
    ]
    assert "Secret Value" not in caplog.text
    assert "abc123" not in caplog.text


def test_the_webhook_refuses_to_start_without_a_usable_secret(flow_env: Path) -> None:
    with pytest.raises(ConfigurationError, match="CATALOG_WEBHOOK_SECRET"):
        create_app(settings=Settings(), prefect_api_url="http://127.0.0.1:9/api")
    with pytest.raises(ConfigurationError, match="at least 16"):
        create_app(
            settings=Settings(webhook_secret=SecretStr("short")),
            prefect_api_url="http://127.0.0.1:9/api",
        )


def test_importing_and_creating_the_app_does_not_import_prefect(
    flow_env: Path, db_url: str
) -> None:
    code = (
        "import sys\n"
        "from flows.webhook.app import create_app\n"
        "from flows.cli.app import app\n"
        "create_app(prefect_api_url='http://127.0.0.1:9/api')\n"
        "assert 'prefect' not in sys.modules, 'prefect was imported'\n"
    )
    env = {**os.environ, "CATALOG_WEBHOOK_SECRET": SECRET}
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_sign_command_prints_headers_that_verify(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from catalog_lib.core.settings import get_settings

    monkeypatch.setenv("CATALOG_WEBHOOK_SECRET", f"{SECRET},{OLD_SECRET}")
    get_settings.cache_clear()
    body_file = tmp_path / "body.json"
    body_file.write_bytes(_body(KEY))
    result = CliRunner().invoke(cli_app, ["webhook", "sign", "--file", str(body_file), "--json"])
    assert result.exit_code == 0, result.output
    headers = json.loads(result.stdout)["headers"]
    verify(body_file.read_bytes(), headers, [SECRET], int(time.time()))

    text = CliRunner().invoke(cli_app, ["webhook", "sign"], input=_body(KEY).decode())
    lines = dict(line.split(": ", 1) for line in text.stdout.splitlines())
    verify(_body(KEY), lines, [SECRET], int(time.time()))

    curl = CliRunner().invoke(cli_app, ["webhook", "sign", "--file", str(body_file), "--curl"])
    assert curl.stdout.startswith("curl -sS -X POST http://127.0.0.1:8787/v1/ingest")
    assert f"--data-binary @{body_file}" in curl.stdout
    assert SIGNATURE_HEADER in curl.stdout

    monkeypatch.delenv("CATALOG_WEBHOOK_SECRET")
    get_settings.cache_clear()
    refused = CliRunner().invoke(cli_app, ["webhook", "sign", "--file", str(body_file)])
    assert refused.exit_code == 2


def test_serving_without_a_secret_exits_two(flow_env: Path) -> None:
    result = CliRunner().invoke(cli_app, ["webhook", "--port", "0"])
    assert result.exit_code == 2
    assert "CATALOG_WEBHOOK_SECRET" in result.output
