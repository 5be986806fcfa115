"""Writing a seeded history into a migrated database with COPY, in one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.demo.history.audit_rows import generate_history
from catalog_lib.demo.history.spec import (
    APPLY_PARTITIONS,
    CHUNK_BYTES,
    HISTORY_PREFIX,
    SOURCE_POOL,
    HistorySpec,
    HistorySummary,
    _Generated,
    _Job,
)


def seed_history(
    conn: psycopg.Connection[Any], spec: HistorySpec | None = None, *, now: datetime | None = None
) -> HistorySummary:
    """Write the history into the database in one transaction; no-op if it is already there."""
    spec = spec or HistorySpec()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with conn.transaction():
        found = conn.execute(load_query("seed_history_exists"), {"prefix": HISTORY_PREFIX + "%"})
        row = found.fetchone()
        if row is not None and row["seeded"]:
            return HistorySummary(now=now, skipped=True)
        data = generate_history(spec, now)
        _renumber(conn, data)
        _copy(conn, load_query("seed_history_copy_jobs"), (_job_row(j) for j in data.jobs))
        _copy(
            conn, load_query("seed_history_copy_chunks"), (c for j in data.jobs for c in j.chunks)
        )
        _copy(conn, load_query("seed_history_copy_invalid_logs"), data.invalid_logs)
        _copy(conn, load_query("seed_history_copy_snapshots"), data.snapshots)
        _copy(conn, load_query("seed_history_copy_flags"), data.flags)
        _copy(conn, load_query("seed_history_copy_runs"), data.runs)
        _copy(conn, load_query("seed_history_copy_actions"), data.actions)
        if data.items:
            conn.execute(
                load_query("seed_history_items"),
                {
                    "job_ids": [i[0] for i in data.items],
                    "counts": [i[2] for i in data.items],
                    "sources": [i[1] for i in data.items],
                },
            )
    return _summary(spec, now, data)


def _renumber(conn: psycopg.Connection[Any], data: _Generated) -> None:
    """Give snapshots and flags ids from their identity sequences (flags point at both)."""
    snapshot_ids = _reserve(conn, "audit_snapshots", len(data.snapshots))
    flag_ids = _reserve(conn, "audit_flags", len(data.flags))
    # Snapshot and flag placeholders share one counter; map each through its own table.
    placeholder_snap = {s[0]: snapshot_ids[i] for i, s in enumerate(data.snapshots)}
    placeholder_flag = {f[0]: flag_ids[i] for i, f in enumerate(data.flags)}
    data.snapshots[:] = [(placeholder_snap[s[0]], *s[1:]) for s in data.snapshots]
    data.flags[:] = [(placeholder_flag[f[0]], placeholder_snap[f[1]], *f[2:]) for f in data.flags]
    data.actions[:] = [
        a if a[3] is None else (*a[:3], placeholder_flag[a[3]], *a[4:]) for a in data.actions
    ]


def _reserve(conn: psycopg.Connection[Any], table: str, n: int) -> list[int]:
    rows = conn.execute(load_query("seed_history_reserve_ids"), {"table": table, "n": n})
    return [int(r["id"]) for r in rows.fetchall()]


def _copy(conn: psycopg.Connection[Any], statement: str, rows: Iterable[Sequence[Any]]) -> None:
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _job_row(job: _Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.status,
        job.source,
        job.filename,
        job.object_key,
        job.scraper_revision,
        job.ingest_key(),
        job.mode,
        job.created_at,
        job.started_at,
        job.completed_at,
        CHUNK_BYTES,
        job.chunks_total,
        APPLY_PARTITIONS if job.status == "completed" else None,
        job.processed,
        job.valid,
        job.invalid,
        job.items_upserted,
        job.flow_run_id,
        job.source_etag,
        job.created_at - timedelta(minutes=5),
        job.source_size,
        job.completed_at if job.verified_row_count is not None else None,
        job.verified_row_count,
        job.reconcile_delta,
        job.error_kind,
        job.error_message,
        job.supersedes,
    )


def _summary(spec: HistorySpec, now: datetime, data: _Generated) -> HistorySummary:
    day_ago = now - timedelta(hours=24)
    jobs = data.jobs
    last_success: dict[str, datetime] = {}
    for job in jobs:
        if job.status == "completed" and job.completed_at is not None:
            previous = last_success.get(job.source)
            if previous is None or job.completed_at > previous:
                last_success[job.source] = job.completed_at
    stale = tuple(
        s
        for s in SOURCE_POOL[: spec.sources]
        if s not in last_success or now - last_success[s] > timedelta(days=spec.stale_days)
    )
    latest_snapshot: dict[str, int] = {}
    for snap in data.snapshots:
        latest_snapshot[snap[2]] = snap[0]  # snapshots are in time order
    open_flags = sum(1 for f in data.flags if f[8] == "open" and latest_snapshot.get(f[2]) == f[1])
    return HistorySummary(
        now=now,
        skipped=False,
        jobs=len(jobs),
        sources=SOURCE_POOL[: spec.sources],
        jobs_by_status=dict(Counter(j.status for j in jobs)),
        jobs_by_source=dict(Counter(j.source for j in jobs)),
        running_now=sum(j.status == "running" for j in jobs),
        failed_24h=sum(j.status == "failed" and j.created_at >= day_ago for j in jobs),
        rejected_rows_24h=sum(j.invalid for j in jobs if j.created_at >= day_ago),
        stale_sources=stale,
        open_flags=open_flags,
        retries=sum(j.mode == "retry" for j in jobs),
        repairs=sum(j.mode == "repair" for j in jobs),
        audit_snapshots=len(data.snapshots),
        audit_flags=len(data.flags),
        maintenance_runs=len(data.runs),
        operator_actions=len(data.actions),
        invalid_logs=len(data.invalid_logs),
        catalog_items=sum(i[2] for i in data.items),
        items_by_source={i[1]: i[2] for i in data.items},
    )
