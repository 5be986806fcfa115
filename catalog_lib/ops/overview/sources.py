"""The sources page's reads: per-source overview, job and snapshot trends, audit flags."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.ops.overview.states import _opt_float


# --- Sources & audit ------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceRow:
    """One source: newest file, last success, freshness, items, rejected share, open flags."""

    source: str
    jobs: int
    failed_7d: int
    last_file: str
    last_seen_at: datetime
    last_status: str
    last_success_at: datetime | None
    freshness_hours: float | None
    stale: bool
    items: int | None  # as the latest audit counted them; None before the first audit
    items_counted_at: datetime | None
    invalid_share: float | None
    open_flags: int
    open_since: datetime | None


def sources_overview(
    conn: psycopg.Connection[Any], *, stale_days: int, now: datetime | None = None
) -> list[SourceRow]:
    """One row per source that has a job, by name."""
    rows = conn.execute(
        load_query("console_sources"), {"now": now, "stale_days": stale_days}
    ).fetchall()
    return [
        SourceRow(
            source=r["source"],
            jobs=int(r["jobs"]),
            failed_7d=int(r["failed_7d"]),
            last_file=r["last_file"],
            last_seen_at=r["last_seen_at"],
            last_status=r["last_status"],
            last_success_at=r["last_success_at"],
            freshness_hours=_opt_float(r["freshness_hours"]),
            stale=bool(r["stale"]),
            items=None if r["items"] is None else int(r["items"]),
            items_counted_at=r["items_counted_at"],
            invalid_share=_opt_float(r["invalid_share"]),
            open_flags=int(r["open_flags"]),
            open_since=r["open_since"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class SourceJobPoint:
    """One job of a source on its trend: rows read, accepted, rejected."""

    job_id: uuid.UUID
    created_at: datetime
    status: str
    mode: str
    rows_processed: int
    rows_valid: int
    rows_invalid: int
    invalid_share: float | None


def source_job_trend(
    conn: psycopg.Connection[Any], source: str, *, since: datetime, limit: int = 1000
) -> list[SourceJobPoint]:
    """A source's jobs since `since`, oldest first."""
    rows = conn.execute(
        load_query("console_source_job_trend"), {"source": source, "since": since, "limit": limit}
    ).fetchall()
    return [
        SourceJobPoint(
            job_id=r["id"],
            created_at=r["created_at"],
            status=r["status"],
            mode=r["mode"],
            rows_processed=int(r["total_processed"]),
            rows_valid=int(r["total_valid"]),
            rows_invalid=int(r["total_invalid"]),
            invalid_share=_opt_float(r["invalid_share"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class SnapshotPoint:
    """One audit snapshot of a source: how many items it had then and how stale it was."""

    generated_at: datetime
    total_items: int
    days_stale: int | None
    median_price: float | None


def source_snapshot_trend(
    conn: psycopg.Connection[Any], source: str, *, since: datetime
) -> list[SnapshotPoint]:
    """A source's audit snapshots since `since`, oldest first."""
    rows = conn.execute(
        load_query("console_source_snapshot_trend"), {"source": source, "since": since}
    ).fetchall()
    return [
        SnapshotPoint(
            generated_at=r["generated_at"],
            total_items=int(r["total_items"]),
            days_stale=r["days_stale"],
            median_price=_opt_float(r["median_price"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class FlagRow:
    """A flag of a source's latest audit snapshot, with its state and who set it."""

    flag_id: int
    source: str
    code: str
    field: str | None
    label: str
    value: float | None
    first_seen_at: datetime
    state: str
    state_reason: str | None
    state_actor: str | None
    state_changed_at: datetime | None
    muted_until: datetime | None
    generated_at: datetime


def current_flags(conn: psycopg.Connection[Any], *, source: str | None = None) -> list[FlagRow]:
    """The flags of every source's latest snapshot (or one source's), open ones first."""
    rows = conn.execute(load_query("console_source_flags"), {"source": source}).fetchall()
    return [
        FlagRow(
            flag_id=int(r["id"]),
            source=r["source"],
            code=r["code"],
            field=r["field"],
            label=r["label"],
            value=_opt_float(r["value"]),
            first_seen_at=r["first_seen_at"],
            state=r["state"],
            state_reason=r["state_reason"],
            state_actor=r["state_actor"],
            state_changed_at=r["state_changed_at"],
            muted_until=r["muted_until"],
            generated_at=r["generated_at"],
        )
        for r in rows
    ]
