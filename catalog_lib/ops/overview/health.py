"""The health page's reads: the strip of counts, job series, failure rates, latest failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query, required_row
from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.ops.overview.states import FINAL_STATES, _opt_float


# --- Health ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class HealthStrip:
    """The status strip: what is running, what broke in 24 h, what is stale or flagged."""

    running_now: int
    pending_now: int
    failed_24h: int
    rejected_rows_24h: int
    stale_sources: int
    open_flags: int


def health_strip(
    conn: psycopg.Connection[Any], *, stale_days: int, now: datetime | None = None
) -> HealthStrip:
    """The Health page's status strip at `now` (default: the database clock)."""
    row = conn.execute(
        load_query("console_health_strip"), {"now": now, "stale_days": stale_days}
    ).fetchone()
    # An aggregate always answers one row; none is a query error, not an assertion.
    row = required_row(row, "console_health_strip")
    return HealthStrip(**{k: int(v) for k, v in row.items()})


@dataclass(frozen=True)
class SeriesPoint:
    """Jobs created in one time bucket that are in one state, their rows and run times."""

    bucket: datetime
    status: str
    jobs: int
    rows_processed: int
    rows_valid: int
    rows_invalid: int
    p50_s: float | None
    p95_s: float | None


def job_series(
    conn: psycopg.Connection[Any],
    *,
    since: datetime,
    until: datetime,
    bucket: timedelta = timedelta(hours=1),
) -> list[SeriesPoint]:
    """Jobs per bucket and state in [since, until), oldest bucket first."""
    if bucket <= timedelta(0) or until <= since:
        raise InvalidArgumentError("the window and the bucket must be positive")
    rows = conn.execute(
        load_query("console_job_series"), {"since": since, "until": until, "bucket": bucket}
    ).fetchall()
    return [
        SeriesPoint(
            bucket=r["bucket"],
            status=r["status"],
            jobs=int(r["jobs"]),
            rows_processed=int(r["rows_processed"]),
            rows_valid=int(r["rows_valid"]),
            rows_invalid=int(r["rows_invalid"]),
            p50_s=_opt_float(r["p50_s"]),
            p95_s=_opt_float(r["p95_s"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class RatePoint:
    """The share of jobs of one bucket that ended failed (or cancelled)."""

    bucket: datetime
    finished: int
    failed: int
    failure_rate: float


def failure_rates(points: Iterable[SeriesPoint]) -> list[RatePoint]:
    """Failure rate per bucket: failed or cancelled jobs among those that finished."""
    finished: dict[datetime, int] = {}
    failed: dict[datetime, int] = {}
    for p in points:
        if p.status in FINAL_STATES:
            finished[p.bucket] = finished.get(p.bucket, 0) + p.jobs
            if p.status != "completed":
                failed[p.bucket] = failed.get(p.bucket, 0) + p.jobs
    return [
        RatePoint(b, n, failed.get(b, 0), failed.get(b, 0) / n)
        for b, n in sorted(finished.items())
        if n
    ]


@dataclass(frozen=True)
class FailureRow:
    """A failed job, why it failed, and the job that replaced it (if one did)."""

    job_id: uuid.UUID
    source: str
    filename: str
    mode: str
    error_kind: str | None
    error_message: str | None
    created_at: datetime
    completed_at: datetime | None
    successor_id: uuid.UUID | None
    successor_status: str | None


def latest_failures(
    conn: psycopg.Connection[Any], *, since: datetime, limit: int = 20
) -> list[FailureRow]:
    """The newest failed jobs created since `since`."""
    rows = conn.execute(
        load_query("console_latest_failures"), {"since": since, "limit": limit}
    ).fetchall()
    return [
        FailureRow(
            job_id=r["id"],
            source=r["source"],
            filename=r["filename"],
            mode=r["mode"],
            error_kind=r["error_kind"],
            error_message=r["error_message"],
            created_at=r["created_at"],
            completed_at=r["completed_at"],
            successor_id=r["successor_id"],
            successor_status=r["successor_status"],
        )
        for r in rows
    ]
