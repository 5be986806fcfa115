"""Piece ``ingest``: the real flow (Prefect, trigger to completed job) vs COPY + SQL upsert.

The same runs give the orchestration overhead: the share of the flow's wall time in which none
of the step functions its tasks call was running (the union of the steps' spans, so the source
count beside the chunks and apply partitions at once are not counted twice), with one chunk
worker and with the default pool.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.context import MIB, Context, median
from bench.timing import busy_seconds, timed_steps

STEP_NAMES = (
    "plan_job",
    "run_chunk",
    "aggregate_job",
    "count_source",
    "reconcile_job",
    "run_apply_partition",
    "finalize_job",
)


@contextmanager
def prefect_server(ctx: Context) -> Iterator[None]:
    """A throwaway local Prefect server for the flow runs (loopback, no telemetry)."""
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(ctx.root / "prefect-results")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


def run_flow(ctx: Context, csv_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Ingest ``csv_path`` into a fresh database through the configured flow; timings."""
    from catalog_lib.core.settings import get_settings
    from catalog_lib.ingest import steps
    from flows import ingest as ingest_module
    from flows.runtime import get_runtime

    url = ctx.fresh_database(migrated=True)
    landing = ctx.root / f"landing-{ctx._databases}"
    (landing / "bench").mkdir(parents=True)
    os.link(csv_path, landing / "bench" / "catalog.csv")
    settings_env = {
        "CATALOG_DATABASE_URL": url,
        "CATALOG_LANDING_URL": str(landing),
        "CATALOG_HOME": str(ctx.root / "home"),
        "CATALOG_EMBEDDING_PROVIDER": "none",
        "CATALOG_CHUNK_SIZE": str(ctx.profile.chunk_mib * MIB),
        **env,
    }
    old = {k: os.environ.get(k) for k in settings_env}
    os.environ.update(settings_env)
    get_settings.cache_clear()
    get_runtime.cache_clear()
    try:
        spans: list[tuple[float, float]] = []
        with timed_steps(STEP_NAMES, spans) as work:
            start = time.perf_counter()
            trigger = steps.request_ingest(
                get_runtime(), source="bench", uri_or_key="bench/catalog.csv", scraper_revision="b"
            )
            state = ingest_module.configured_flow()(
                job_id=str(trigger.job_id), label="bench", return_state=True
            )
            wall = time.perf_counter() - start
        if not state.is_completed():
            raise SystemExit(f"the ingest flow ended {state.type}: {state.message}")
        summary = state.result()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        get_runtime.cache_clear()
    return {"seconds": wall, "work": dict(work), "busy": busy_seconds(spans), "summary": summary}


def run_baseline(ctx: Context, csv_path: Path) -> dict[str, Any]:
    """COPY + one SQL upsert into the product's catalog_items (fresh migrated database)."""
    import psycopg

    from bench import baseline_sql

    url = ctx.fresh_database(migrated=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    result = baseline_sql.load(url, csv_path)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM catalog_items").fetchone()
    result["rows_in_target"] = int(row[0]) if row else 0
    return result


def bench_ingest(ctx: Context) -> dict[str, Any]:
    """Flow ingest vs the COPY + SQL upsert baseline; orchestration overhead from the same runs."""
    path, planted = ctx.catalog_file(ctx.profile.rows)
    rows = planted["rows"]
    base: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    serial: list[dict[str, Any]] = []
    with prefect_server(ctx):
        for _ in range(ctx.profile.runs):
            base.append(run_baseline(ctx, path))
            ours.append(run_flow(ctx, path, {}))
            serial.append(run_flow(ctx, path, {"CATALOG_CHUNK_CONCURRENCY": "1"}))
    for run in (*ours, *serial):
        summary = run["summary"]
        if summary["total_processed"] != rows or summary["reconcile_delta"] != 0:
            raise SystemExit(f"the flow processed {summary['total_processed']} of {rows} rows")
    base_s = median([r["seconds"] for r in base])
    ours_s = median([r["seconds"] for r in ours])
    serial_s = median([r["seconds"] for r in serial])
    serial_work = median([sum(r["work"].values()) for r in serial])
    serial_idle = median([(r["seconds"] - r["busy"]) / r["seconds"] for r in serial])
    default_idle = median([(r["seconds"] - r["busy"]) / r["seconds"] for r in ours])
    chunk_apply = median(
        [r["work"]["run_chunk"] + r["work"]["run_apply_partition"] for r in serial]
    )
    return {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "chunk_mib": ctx.profile.chunk_mib,
        "baseline": {
            "median_s": round(base_s, 3),
            "rows_per_s": round(rows / base_s),
            "rows_in_target": base[-1]["rows_in_target"],
        },
        "flow": {
            "median_s": round(ours_s, 3),
            "rows_per_s": round(rows / ours_s),
            "vs_baseline": round(base_s / ours_s, 4),
            "items_upserted": ours[-1]["summary"]["items_upserted"],
            "total_invalid": ours[-1]["summary"]["total_invalid"],
            "steps_s": {k: round(v, 3) for k, v in ours[-1]["work"].items()},
        },
        "overhead": {
            "chunk_concurrency": 1,
            "flow_wall_s": round(serial_s, 3),
            "step_work_s": round(serial_work, 3),
            "step_busy_s": round(median([r["busy"] for r in serial]), 3),
            "chunk_plus_apply_s": round(chunk_apply, 3),
            "overhead_share": round(max(serial_idle, 0.0), 4),
            "overhead_share_default_pool": round(max(default_idle, 0.0), 4),
        },
        "all_s": {
            "baseline": [round(r["seconds"], 3) for r in base],
            "flow": [round(r["seconds"], 3) for r in ours],
            "flow_serial": [round(r["seconds"], 3) for r in serial],
        },
    }
