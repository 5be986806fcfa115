"""The `ingest-catalog` flow on Prefect's test server, real PostgreSQL and real storage."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import itertools
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import DatabaseConflictError, MalformedCsvError, StorageError
from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import reconciling, steps
from flows import ingest as ingest_module
from flows.runtime import get_runtime
from tests.factories import HEADER, admin_dsn, catalog_row, catalog_snapshot, job_row, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres]


def _rows(n: int) -> list[dict[str, str]]:
    rows = [catalog_row(i) for i in range(n)]
    rows[5] = catalog_row(5, sku="has space")
    return rows


def _trigger(key: str, data: bytes, chunk_size: str = "2KiB") -> uuid.UUID:
    rt = get_runtime()
    rt.store.write(key, data)
    from catalog_lib.core.sizes import parse_size

    trigger = steps.request_ingest(
        rt,
        source="trailco",
        uri_or_key=key,
        scraper_revision="t",
        chunk_size=parse_size(chunk_size),
    )
    assert trigger.created
    return trigger.job_id


def _run(job_id: uuid.UUID) -> Any:
    return ingest_module.configured_flow()(job_id=str(job_id), label="test", return_state=True)


def _task_runs(flow_run_id: uuid.UUID) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )

    return asyncio.run(read())


def _artifacts(key_prefix: str) -> list[Any]:
    from prefect.client.orchestration import get_client

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts()

    return [a for a in asyncio.run(read()) if (a.key or "").startswith(key_prefix)]


def test_flow_ingests_a_multi_chunk_file(flow_env: Path) -> None:
    job_id = _trigger("trailco/a.csv", to_csv(_rows(60)))
    state = _run(job_id)
    assert state.is_completed(), state.message
    job = job_row(get_runtime().database_url, job_id)
    assert job["status"] == "completed"
    assert (job["total_processed"], job["total_valid"], job["total_invalid"]) == (60, 59, 1)
    assert job["verified_row_count"] == 60
    assert job["reconcile_delta"] == 0
    assert job["flow_run_id"] == state.state_details.flow_run_id
    names = sorted(t.name for t in _task_runs(job["flow_run_id"]) if t.name.startswith("chunk"))
    assert len(names) == job["chunks_total"] > 2
    assert names[0].startswith("chunk-0 [0.1–2.")  # small chunks are labelled in KiB
    keys = {a.key: a for a in _artifacts("ingest-")}
    assert "ingest-trailco" in keys
    assert keys[f"ingest-progress-{job_id}"].data == 100.0


def _persisted_bytes(path: Path) -> bytes:
    """A result file's bytes with its base64 payload decoded (Prefect stores pickles so)."""
    raw = path.read_bytes()
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw
    payload = record.get("result") if isinstance(record, dict) else None
    if isinstance(payload, str):
        with contextlib.suppress(binascii.Error, ValueError):
            return raw + base64.b64decode(payload)
    return raw


def test_persisted_results_and_home_hold_no_row_content(flow_env: Path) -> None:
    storage = Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])
    before = {p for p in storage.rglob("*") if p.is_file()}
    header_marker = "HeaderMarker7a3c"
    row_marker = "RowMarker5b1f"
    rows = [catalog_row(i, name=f"Tent {row_marker} {i}") for i in range(40)]
    data = to_csv(rows, header=(*HEADER, header_marker))
    job_id = _trigger("markers/a.csv", data, chunk_size="1KiB")

    state = _run(job_id)

    assert state.is_completed(), state.message
    job = job_row(get_runtime().database_url, job_id)
    assert job["chunks_total"] > 2
    assert job["total_processed"] == 40
    written = [p for p in storage.rglob("*") if p.is_file() and p not in before]
    assert len(written) >= job["chunks_total"]  # plan, chunks, apply... were persisted
    home = Path(os.environ["CATALOG_HOME"])
    for path in [*written, *(p for p in home.rglob("*") if p.is_file())]:
        content = _persisted_bytes(path)
        assert header_marker.encode() not in content, path
        assert row_marker.encode() not in content, path
        assert b"Trail Tent" not in content, path
        assert b"SKU-0000" not in content, path


def test_read_header_equals_the_planned_header(flow_env: Path) -> None:
    rt = get_runtime()
    data = b"\xef\xbb\xbf\n\r\n" + to_csv(_rows(8), crlf=True)
    job_id = _trigger("header/a.csv", data)

    planned = steps.plan_job(rt, job_id)

    assert planned.header.startswith(b"name,sku")
    assert steps.read_header(rt, planned.version, planned.data_start) == planned.header
    assert planned.without_header().header == b""
    assert planned.without_header().chunks == planned.chunks


@pytest.mark.s3
def test_flow_ingests_from_the_s3_api(
    flow_env: Path, s3_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog_lib.core.settings import get_settings

    monkeypatch.setenv("CATALOG_LANDING_URL", s3_bucket.landing_url)
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", s3_bucket.s3_endpoint_url)
    monkeypatch.setenv("CATALOG_S3_REGION", s3_bucket.s3_region or "us-east-1")
    monkeypatch.setenv("CATALOG_S3_ACCESS_KEY_ID", s3_bucket.s3_access_key_id)
    monkeypatch.setenv("CATALOG_S3_SECRET_ACCESS_KEY", s3_bucket.s3_secret_access_key)
    get_settings.cache_clear()
    get_runtime.cache_clear()
    job_id = _trigger("v2/trailco/a.csv", to_csv(_rows(40), crlf=True, bom=True))
    assert _run(job_id).is_completed()
    job = job_row(get_runtime().database_url, job_id)
    assert job["object_key"].startswith("s3://")
    assert (job["total_processed"], job["reconcile_delta"]) == (40, 0)


def test_overwritten_source_fails_the_job_without_touching_the_catalog(flow_env: Path) -> None:
    job_id = _trigger("a.csv", to_csv(_rows(30)))
    get_runtime().store.write("a.csv", to_csv(_rows(31)))
    state = _run(job_id)
    assert state.is_failed()
    job = job_row(get_runtime().database_url, job_id)
    assert (job["status"], job["error_kind"]) == ("failed", "etag_mismatch")
    assert catalog_snapshot(get_runtime().database_url) == []


class _FlakyStore:
    """Object storage whose reads of one byte range fail a set number of times."""

    def __init__(self, inner: ObjectStore, *, fail_start: int, errors: list[Exception]) -> None:
        self.inner = inner
        self.fail_start = fail_start
        self.errors = errors

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read_range(
        self, uri: str, start: int, end_inclusive: int, *, expected: ObjectVersion | None = None
    ) -> bytes:
        if start == self.fail_start and self.errors:
            raise self.errors.pop(0)
        return self.inner.read_range(uri, start, end_inclusive, expected=expected)


def _with_flaky_store(
    monkeypatch: pytest.MonkeyPatch, job_id: uuid.UUID, chunk: int, errors: list[Exception]
) -> None:
    rt = get_runtime()
    planned = steps.plan_job(rt, job_id)
    flaky = dataclasses.replace(
        rt, store=_FlakyStore(rt.store, fail_start=planned.chunks[chunk].byte_start, errors=errors)
    )
    monkeypatch.setattr(ingest_module, "get_runtime", lambda: flaky)


def test_transient_chunk_error_is_retried_and_applied_once(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _trigger("a.csv", to_csv(_rows(60)))
    _with_flaky_store(
        monkeypatch, job_id, 1, [StorageError("throttled"), StorageError("throttled")]
    )
    assert _run(job_id).is_completed()
    with connect(get_runtime().database_url) as conn:
        ledger = conn.execute(
            "SELECT chunk_index, attempts FROM etl_job_chunks WHERE job_id = %s "
            "AND phase = 'chunk' ORDER BY chunk_index",
            (job_id,),
        ).fetchall()
        staged = conn.execute("SELECT count(*) AS n FROM catalog_items").fetchone()
    assert ledger[1]["attempts"] == 3  # two failed attempts recorded, then the one that counted
    assert staged is not None
    assert staged["n"] == 59
    assert job_row(get_runtime().database_url, job_id)["total_processed"] == 60


def test_a_killed_connection_in_a_chunk_task_is_retried(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _trigger("a.csv", to_csv(_rows(60)))
    planned = steps.plan_job(get_runtime(), job_id)
    victim = planned.chunks[1].index
    real_stage = steps.stage_chunk
    attempts: list[int] = []

    def stage_on_a_killed_connection(
        conn: Any, job: uuid.UUID, spec: Any, *args: Any, **kw: Any
    ) -> Any:
        if spec.index == victim:
            attempts.append(spec.index)
            if len(attempts) == 1:
                with connect(admin_dsn(conn), autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))
        return real_stage(conn, job, spec, *args, **kw)

    monkeypatch.setattr(steps, "stage_chunk", stage_on_a_killed_connection)
    assert _run(job_id).is_completed()
    assert attempts == [victim, victim]  # the lost connection was transient: one retry
    job = job_row(get_runtime().database_url, job_id)
    assert (job["status"], job["total_processed"]) == ("completed", 60)


@pytest.mark.parametrize(
    ("module", "step"),
    [
        (steps, "plan_job"),
        (steps, "aggregate_job"),
        (reconciling, "count_source"),
        (reconciling, "reconcile_job"),
    ],
)
def test_plan_aggregate_and_reconcile_use_the_configured_retry_policy(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch, module: Any, step: str
) -> None:
    monkeypatch.setenv("CATALOG_TASK_RETRIES", "1")
    get_settings.cache_clear()
    job_id = _trigger("a.csv", to_csv(_rows(20)))
    real = getattr(module, step)
    calls: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(step)
        if len(calls) <= 2:  # more failures than the one configured retry
            raise DatabaseConflictError("transaction conflict", sqlstate="40001")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, step, flaky)
    state = _run(job_id)
    assert state.is_failed()
    assert calls == [step, step]  # one try and exactly the one configured retry (not 3)
    job = job_row(get_runtime().database_url, job_id)
    assert (job["status"], job["error_kind"]) == ("failed", "database_unavailable")


def test_terminal_chunk_error_is_not_retried(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _trigger("a.csv", to_csv(_rows(60)))
    _with_flaky_store(monkeypatch, job_id, 1, [MalformedCsvError("bad bytes")])
    assert _run(job_id).is_failed()
    job = job_row(get_runtime().database_url, job_id)
    assert (job["status"], job["error_kind"]) == ("failed", "malformed_csv")
    with connect(get_runtime().database_url) as conn:
        attempts = conn.execute(
            "SELECT attempts, status FROM etl_job_chunks WHERE job_id = %s "
            "AND chunk_index = 1 AND phase = 'chunk'",
            (job_id,),
        ).fetchone()
    assert attempts is not None
    assert (attempts["attempts"], attempts["status"]) == (1, "failed")
    assert catalog_snapshot(get_runtime().database_url) == []


def test_rerun_of_a_failed_flow_run_resumes_from_the_ledger(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    job_id = _trigger("a.csv", to_csv(_rows(60)))
    _with_flaky_store(monkeypatch, job_id, 2, [MalformedCsvError("disk hiccup")])
    first = _run(job_id)
    assert first.is_failed()
    flow_run_id = first.state_details.flow_run_id

    async def reschedule() -> Any:
        async with get_client() as client:
            await client.set_flow_run_state(flow_run_id, Scheduled(), force=True)
            return await client.read_flow_run(flow_run_id)

    flow_run = asyncio.run(reschedule())
    second = run_flow(
        ingest_module.configured_flow(),
        flow_run=flow_run,
        parameters={"job_id": str(job_id), "label": "test"},
        return_type="state",
    )
    assert second.is_completed(), second.message
    with connect(get_runtime().database_url) as conn:
        ledger = conn.execute(
            "SELECT chunk_index, attempts FROM etl_job_chunks WHERE job_id = %s "
            "AND phase = 'chunk' ORDER BY chunk_index",
            (job_id,),
        ).fetchall()
    assert [r["attempts"] for r in ledger[:2]] == [1, 1]  # not redone by the re-run
    assert ledger[2]["attempts"] == 2
    job = job_row(get_runtime().database_url, job_id)
    assert (job["status"], job["total_processed"], job["reconcile_delta"]) == ("completed", 60, 0)


def test_chunk_concurrency_setting_bounds_the_chunk_tasks(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog_lib.core.settings import get_settings

    monkeypatch.setenv("CATALOG_CHUNK_CONCURRENCY", "1")
    get_settings.cache_clear()
    job_id = _trigger("a.csv", to_csv(_rows(60)))
    # The flow as deployed (not configured_flow): the bound must hold there too.
    assert ingest_module.ingest_catalog(job_id=str(job_id), return_state=True).is_completed()
    run_id = job_row(get_runtime().database_url, job_id)["flow_run_id"]
    chunks = sorted(
        (t for t in _task_runs(run_id) if t.name.startswith("chunk")), key=lambda t: t.start_time
    )
    assert len(chunks) > 2
    for earlier, later in itertools.pairwise(chunks):
        assert earlier.end_time <= later.start_time


def test_the_reconcile_count_reads_the_file_while_the_chunks_load(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _trigger("a.csv", to_csv(_rows(60)))
    events: list[tuple[str, float]] = []
    real_chunk, real_count = steps.run_chunk, reconciling.count_source

    def slow_chunk(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # long enough that the count, if it overlaps, starts before the end
        result = real_chunk(*args, **kwargs)
        events.append(("chunk done", time.monotonic()))
        return result

    def count(*args: Any, **kwargs: Any) -> Any:
        events.append(("count starts", time.monotonic()))
        return real_count(*args, **kwargs)

    monkeypatch.setattr(steps, "run_chunk", slow_chunk)
    monkeypatch.setattr(reconciling, "count_source", count)
    state = _run(job_id)
    assert state.is_completed()
    starts = [t for name, t in events if name == "count starts"]
    chunk_ends = [t for name, t in events if name == "chunk done"]
    assert len(starts) == 1
    assert len(chunk_ends) > 4
    assert starts[0] < max(chunk_ends)  # counted beside the chunks, not after them
    job = job_row(get_runtime().database_url, job_id)
    assert (job["verified_row_count"], job["reconcile_delta"]) == (60, 0)
    wanted = {"count trailco", "reconcile trailco"}
    deadline = time.monotonic() + 30  # task runs reach the server as events, asynchronously
    names = {t.name for t in _task_runs(state.state_details.flow_run_id)}
    while not wanted <= names and time.monotonic() < deadline:
        time.sleep(0.5)
        names = {t.name for t in _task_runs(state.state_details.flow_run_id)}
    assert wanted <= names
