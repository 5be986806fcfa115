"""Transient faults under the real `ingest-catalog` flow: the job still completes exactly.

Two kinds of fault, each checked against a clean run of the same file:
- object storage that fails (the transient `StorageError` the real stores raise) or stalls on
  about 10 % of range reads, seeded (`tests/faulty_storage.py`);
- the loader's own PostgreSQL backend terminated (`pg_terminate_backend`) inside a chunk's
  transaction, inside an apply partition's transaction and inside the publish transaction.

Every retry must be visible twice: in the ledger's `attempts` and as a retried task run
(`run_count`) in Prefect's API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import applying, staging, steps
from flows import ingest as ingest_module
from flows.runtime import get_runtime
from tests.factories import (
    admin_dsn,
    catalog_row,
    catalog_snapshot,
    invalid_snapshot,
    job_row,
    provenance_skus,
    run_steps,
    to_csv,
)
from tests.faulty_storage import FaultyStore

pytestmark = [pytest.mark.flow, pytest.mark.postgres, pytest.mark.slow]

KEY = "v2/trailco/faults.csv"
ROWS = 240
CHUNK_SIZE = 4096
PARTITIONS = 3


def _data() -> bytes:
    rows = [catalog_row(i) for i in range(ROWS)]
    rows[7] = catalog_row(7, sku="has space")  # rejected
    rows[200] = catalog_row(3, name="Trail Tent 3 (newer row)")  # merged with row 3
    return to_csv(rows)


@dataclasses.dataclass(frozen=True)
class Result:
    """What an ingest published, without ids or timestamps."""

    items: list[dict[str, Any]]
    provenance: list[str]
    invalid: list[tuple[Any, ...]]
    totals: tuple[int, int, int, int]


def _result(db_url: str, job_id: uuid.UUID) -> Result:
    job = job_row(db_url, job_id)
    assert (job["status"], job["reconcile_delta"]) == ("completed", 0), job
    return Result(
        items=catalog_snapshot(db_url),
        provenance=provenance_skus(db_url, job_id),
        invalid=invalid_snapshot(db_url, job_id),
        totals=(
            job["total_processed"],
            job["total_valid"],
            job["total_invalid"],
            job["items_upserted"],
        ),
    )


def _trigger() -> uuid.UUID:
    return steps.request_ingest(
        get_runtime(), source="trailco", uri_or_key=KEY, scraper_revision="t", chunk_size=CHUNK_SIZE
    ).job_id


@pytest.fixture
def clean(flow_env: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    """The result of one clean ingest of the file (no orchestrator), then an empty catalog."""
    monkeypatch.setenv("CATALOG_APPLY_PARTITIONS", str(PARTITIONS))
    monkeypatch.setenv("CATALOG_TASK_RETRIES", "3")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    rt = get_runtime()
    rt.store.write(KEY, _data())
    job_id = _trigger()
    run_steps(rt, job_id)
    result = _result(rt.database_url, job_id)
    assert result.totals == (ROWS, ROWS - 1, 1, ROWS - 2)
    with connect(rt.database_url) as conn:
        conn.execute(
            "TRUNCATE catalog_item_etl_jobs, catalog_items, invalid_item_logs, etl_staged_items, "
            "etl_prepared_items, etl_job_chunks, etl_jobs CASCADE"
        )
        conn.commit()
    return result


def _run(job_id: uuid.UUID) -> tuple[Any, uuid.UUID]:
    state = ingest_module.configured_flow()(job_id=str(job_id), label="faults", return_state=True)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    return state, flow_run_id


def _task_runs(flow_run_id: uuid.UUID) -> dict[str, int]:
    """Prefect's view: run_count of every task run of the flow run, by task run name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )

    runs = asyncio.run(read())
    assert all(r.state is not None and r.state.is_completed() for r in runs)
    return {r.name: r.run_count for r in runs}


def _ledger(db_url: str, job_id: uuid.UUID, phase: str) -> dict[int, int]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT chunk_index, attempts, status FROM etl_job_chunks "
            "WHERE job_id = %s AND phase = %s ORDER BY chunk_index",
            (job_id, phase),
        ).fetchall()
    assert {str(r["status"]) for r in rows} == {"completed"}
    return {r["chunk_index"]: r["attempts"] for r in rows}


def test_storage_faults_on_range_reads_are_retried_to_the_exact_result(
    clean: Result, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = get_runtime()
    job_id = _trigger()
    planned = steps.plan_job(rt, job_id)
    # The first seed (from 0) whose draw fails at least one chunk range twice and one once, and
    # stalls at least one first read: about one range in ten fails and one read in ten stalls,
    # so retries and slow reads really happen whatever the chunk plan is.
    store, planned_failures = next(
        (store, failures)
        for store in (FaultyStore(rt.store, seed=seed) for seed in range(1000))
        for failures in [
            {s.index: store.failures_planned(s.byte_start, s.byte_end) for s in planned.chunks}
        ]
        if {1, 2} <= set(failures.values())
        and any(store.slow_planned(s.byte_start, s.byte_end, 1) for s in planned.chunks)
    )
    failing = {i: n for i, n in planned_failures.items() if n}
    assert len(failing) <= len(planned.chunks) // 2, failing
    faulty = dataclasses.replace(rt, store=store)
    monkeypatch.setattr(ingest_module, "get_runtime", lambda: faulty)

    _, flow_run_id = _run(job_id)

    assert _result(rt.database_url, job_id) == clean
    assert sum(store.failures.values()) >= sum(failing.values())
    assert store.slowed > 0
    # The ledger: a chunk whose read failed n times took n + 1 attempts (n noted failures).
    attempts = _ledger(rt.database_url, job_id, "chunk")
    assert attempts == {i: 1 + planned_failures[i] for i in attempts}
    # Prefect: the same chunks are retried task runs, with the same number of runs.
    runs = _task_runs(flow_run_id)
    by_chunk = {spec.index: runs[spec.label()] for spec in planned.chunks}
    assert by_chunk == attempts
    assert {name: n for name, n in runs.items() if n > 1 and not name.startswith("chunk-")} == {}


def _kill_own_backend_at(
    point: str, hit: int, killed: list[int]
) -> tuple[Callable[..., Any], Callable[[str], None]]:
    """A `connect` that remembers each thread's connection, and a failpoint that kills it.

    At the `hit`-th time any thread reaches `point`, the backend of that thread's open
    connection is terminated through a second (admin) session, as a DBA or a failover would.
    """
    real_connect = steps.connect
    local = threading.local()
    seen = {"n": 0}
    lock = threading.Lock()

    def remembering_connect(*args: Any, **kwargs: Any) -> Any:
        conn = real_connect(*args, **kwargs)
        local.conn = conn
        return conn

    def point_hook(name: str) -> None:
        if name != point:
            return
        with lock:
            seen["n"] += 1
            due = seen["n"] == hit
        if due:
            conn = local.conn
            pid = conn.info.backend_pid
            with connect(admin_dsn(conn), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            killed.append(pid)

    return remembering_connect, point_hook


@pytest.mark.parametrize(
    ("point", "phase"),
    [("chunk.in_tx", "chunk"), ("apply.in_tx", "apply"), ("publish.in_tx", None)],
)
def test_a_killed_loader_backend_is_retried_to_the_exact_result(
    clean: Result, monkeypatch: pytest.MonkeyPatch, point: str, phase: str | None
) -> None:
    rt = get_runtime()
    job_id = _trigger()
    killed: list[int] = []
    # Chunks and partitions run concurrently: kill the second one to get there; publish is
    # reached once per attempt: kill the first.
    remembering_connect, hook = _kill_own_backend_at(point, 1 if phase is None else 2, killed)
    monkeypatch.setattr(steps, "connect", remembering_connect)
    monkeypatch.setattr(staging, "failpoint", hook)
    monkeypatch.setattr(applying, "failpoint", hook)

    _, flow_run_id = _run(job_id)

    assert len(killed) == 1
    assert _result(rt.database_url, job_id) == clean
    runs = _task_runs(flow_run_id)
    retried = {name: n for name, n in runs.items() if n > 1}
    assert list(retried.values()) == [2], runs  # exactly one task run, run twice
    (name,) = retried
    assert name.startswith("chunk-") is (phase == "chunk")
    ledgers = {p: _ledger(rt.database_url, job_id, p) for p in ("chunk", "apply")}
    again = {(p, i): n for p, rows in ledgers.items() for i, n in rows.items() if n > 1}
    if phase is None:
        # Publish has no ledger row of its own; nothing else was retried.
        assert again == {}
        return
    (where,) = again  # the killed attempt is noted in the ledger: two attempts
    assert (where[0], again[where]) == (phase, 2)
