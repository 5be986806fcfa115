"""CATALOG_TASK_RUNNER=dask or processes runs the same ingest flow elsewhere, same result."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bench.catalog_csv import build_csv
from catalog_lib.adapters.postgres import upgrade_schema
from catalog_lib.core.settings import get_settings
from catalog_lib.ingest import steps
from flows import ingest as ingest_module
from flows.runtime import get_runtime
from tests.factories import catalog_snapshot, invalid_snapshot, job_row

pytestmark = [pytest.mark.flow, pytest.mark.postgres, pytest.mark.slow]

TOTALS = ("status", "chunks_total", "total_processed", "total_valid", "total_invalid")


def _ingest(landing: Path, data: bytes) -> tuple[Any, ...]:
    """Run the configured flow on ``data``; the catalog, invalid rows and totals it left."""
    (landing / "trailco").mkdir(exist_ok=True)
    (landing / "trailco" / "catalog.csv").write_bytes(data)
    rt = get_runtime()
    trigger = steps.request_ingest(
        rt,
        source="trailco",
        uri_or_key="trailco/catalog.csv",
        scraper_revision="t",
        chunk_size=4096,
    )
    state = ingest_module.configured_flow()(
        job_id=str(trigger.job_id), label="dask", return_state=True
    )
    assert state.is_completed(), state.message
    job = job_row(rt.database_url, trigger.job_id)
    return (
        tuple(job[k] for k in TOTALS),
        job["verified_row_count"],
        catalog_snapshot(rt.database_url),
        invalid_snapshot(rt.database_url, trigger.job_id),
    )


@pytest.fixture
def second_db_url(db_url: str) -> Any:
    """Another migrated database on the same server, dropped afterwards."""
    name = f"dask_{uuid.uuid4().hex[:12]}"
    base = psycopg.conninfo.conninfo_to_dict(db_url)
    admin = psycopg.conninfo.make_conninfo(db_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = db_url.rsplit("/", 1)[0] + "/" + name
    assert base["dbname"] != name
    upgrade_schema(url, embedding_dimensions=8)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_dask_runner_gives_the_thread_pool_catalog(
    flow_env: Path, second_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = build_csv(300)
    threads = _ingest(flow_env, data)
    assert threads[0][0] == "completed"
    assert threads[0][1] > 10  # many chunks, so several run on the cluster at once
    assert threads[1] == 300

    monkeypatch.setenv("CATALOG_DATABASE_URL", second_db_url)
    monkeypatch.setenv("CATALOG_TASK_RUNNER", "dask")
    monkeypatch.setenv("CATALOG_DASK_WORKERS", "2")
    monkeypatch.setenv("CATALOG_DASK_PROCESSES", "false")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    runner = ingest_module.configured_flow().task_runner
    assert type(runner).__name__ == "DaskTaskRunner"
    on_dask = _ingest(flow_env, data)
    assert on_dask[2] == threads[2]  # the catalog, field by field
    assert on_dask[3] == threads[3]  # invalid rows, ordinals and reasons
    assert on_dask[:2] == threads[:2]


def test_process_pool_gives_the_thread_pool_catalog(
    flow_env: Path, second_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = build_csv(120)
    threads = _ingest(flow_env, data)
    assert threads[0][0] == "completed"

    monkeypatch.setenv("CATALOG_DATABASE_URL", second_db_url)
    monkeypatch.setenv("CATALOG_TASK_RUNNER", "processes")
    monkeypatch.setenv("CATALOG_CHUNK_CONCURRENCY", "2")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    runner = ingest_module.configured_flow().task_runner
    assert type(runner).__name__ == "ProcessPoolTaskRunner"
    assert runner._max_workers == 2  # the cores, below 2 chunk tasks + the count
    in_processes = _ingest(flow_env, data)
    assert in_processes[2] == threads[2]
    assert in_processes[3] == threads[3]
    assert in_processes[:2] == threads[:2]


def test_dask_address_setting_selects_an_existing_scheduler(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_TASK_RUNNER", "dask")
    monkeypatch.setenv("CATALOG_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    get_settings.cache_clear()
    runner = ingest_module.configured_flow().task_runner
    assert runner.address == "tcp://127.0.0.1:8786"
    monkeypatch.setenv("CATALOG_TASK_RUNNER", "threads")
    get_settings.cache_clear()
    assert type(ingest_module.configured_flow().task_runner).__name__ == "ThreadPoolTaskRunner"


@pytest.mark.parametrize(
    ("kind", "runner"),
    [
        ("threads", "ThreadPoolTaskRunner"),
        ("processes", "ProcessPoolTaskRunner"),
        ("dask", "DaskTaskRunner"),
    ],
)
def test_the_deployed_flow_takes_the_runner_configured_when_a_run_starts(
    monkeypatch: pytest.MonkeyPatch, kind: str, runner: str
) -> None:
    # Deployments import `ingest_catalog` itself, once; each run duplicates its runner.
    monkeypatch.setenv("CATALOG_TASK_RUNNER", kind)
    monkeypatch.setenv("CATALOG_CHUNK_CONCURRENCY", "3")
    get_settings.cache_clear()
    try:
        made = ingest_module.ingest_catalog.task_runner.duplicate()
    finally:
        get_settings.cache_clear()
    assert type(made).__name__ == runner
    if kind == "threads":
        assert made._max_workers == 4  # 3 chunk tasks and the count beside them
