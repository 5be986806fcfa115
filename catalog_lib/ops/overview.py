"""Read functions of the ops console: health, job lists, sources, landing, maintenance.

Each function runs named queries (`sql/queries/console_*.sql`) and returns frozen dataclasses,
so the console's pages lay out typed values and never see SQL. Job detail, ledger and the
supersession chain come from `catalog_lib.ops.reports` (shared with the CLI).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import CatalogError
from catalog_lib.ingest.jobs import compute_ingest_key
from catalog_lib.rules.intake import check_relative_key, source_of
from catalog_lib.rules.mapping import ITEM_FIELDS

JOB_STATES: Final = ("pending", "running", "completed", "failed", "cancelled")
FINAL_STATES: Final = ("completed", "failed", "cancelled")
NOT_COMPLETED: Final = tuple(s for s in JOB_STATES if s != "completed")
_HEX: Final = re.compile(r"[0-9a-f]{1,32}")


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
    assert row is not None  # an aggregate always answers one row
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
        raise ValueError("the window and the bucket must be positive")
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


# --- Jobs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobFilter:
    """The Jobs page's filters; empty / None means "any"."""

    sources: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    scraper_revision: str | None = None

    def __post_init__(self) -> None:
        """Refuse values the generator or the queries cannot honour."""
        unknown = set(self.statuses) - set(JOB_STATES)
        if unknown:
            raise ValueError(f"unknown job states: {sorted(unknown)}")

    def params(self) -> dict[str, Any]:
        """The bound parameters of the Jobs queries."""
        return {
            "sources": list(self.sources) or None,
            "statuses": list(self.statuses) or None,
            "since": self.since,
            "until": self.until,
            "revision": self.scraper_revision,
        }


@dataclass(frozen=True)
class JobRow:
    """One line of the Jobs table."""

    job_id: uuid.UUID
    status: str
    mode: str
    source: str
    filename: str
    scraper_revision: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    chunks: int
    rows_processed: int
    rows_valid: int
    rows_invalid: int
    reconcile_delta: int | None
    error_kind: str | None
    supersedes_job_id: uuid.UUID | None
    duration_s: float | None


@dataclass(frozen=True)
class JobPage:
    """One page of jobs, how many match in all, and the counts per state."""

    rows: tuple[JobRow, ...]
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    limit: int = 50
    offset: int = 0

    @property
    def pages(self) -> int:
        """How many pages of `limit` jobs the matches fill (at least one)."""
        return max(1, -(-self.total // self.limit))


def job_state_counts(conn: psycopg.Connection[Any], flt: JobFilter) -> dict[str, int]:
    """How many jobs match the filters (all but the state filter), per state; zeros included."""
    rows = conn.execute(load_query("console_jobs_state_counts"), flt.params()).fetchall()
    counts = dict.fromkeys(JOB_STATES, 0)
    counts.update({r["status"]: int(r["jobs"]) for r in rows})
    return counts


def find_jobs(
    conn: psycopg.Connection[Any], flt: JobFilter, *, limit: int = 50, offset: int = 0
) -> JobPage:
    """One page of the jobs matching `flt`, newest first, with the state counts."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset non-negative")
    counts = job_state_counts(conn, flt)
    wanted = flt.statuses or JOB_STATES
    total = sum(counts[s] for s in wanted)
    rows = conn.execute(
        load_query("console_jobs_page"), {**flt.params(), "limit": limit, "offset": offset}
    ).fetchall()
    return JobPage(
        rows=tuple(
            JobRow(
                job_id=r["id"],
                status=r["status"],
                mode=r["mode"],
                source=r["source"],
                filename=r["filename"],
                scraper_revision=r["scraper_revision"],
                created_at=r["created_at"],
                started_at=r["started_at"],
                completed_at=r["completed_at"],
                chunks=int(r["chunks_total"]),
                rows_processed=int(r["total_processed"]),
                rows_valid=int(r["total_valid"]),
                rows_invalid=int(r["total_invalid"]),
                reconcile_delta=r["reconcile_delta"],
                error_kind=r["error_kind"],
                supersedes_job_id=r["supersedes_job_id"],
                duration_s=_opt_float(r["duration_s"]),
            )
            for r in rows
        ),
        total=total,
        counts=counts,
        limit=limit,
        offset=offset,
    )


@dataclass(frozen=True)
class FilterOptions:
    """The sources and scraper revisions the Jobs filters can offer."""

    sources: tuple[str, ...]
    revisions: tuple[str, ...]


def job_filter_options(conn: psycopg.Connection[Any]) -> FilterOptions:
    """Every source and scraper revision that has a job, sorted."""
    rows = conn.execute(load_query("console_job_filter_options")).fetchall()
    return FilterOptions(
        sources=tuple(r["value"] for r in rows if r["kind"] == "source"),
        revisions=tuple(r["value"] for r in rows if r["kind"] == "revision"),
    )


class JobReferenceError(CatalogError):
    """A typed job reference is malformed, matches no job, or matches several."""

    kind = "invalid_job_reference"


def resolve_job_ref(conn: psycopg.Connection[Any], ref: str) -> uuid.UUID:
    """The job a full id or a unique id prefix (at least 4 hex digits) names.

    Raises:
        JobReferenceError: malformed, unknown, or an ambiguous prefix.
    """
    text = ref.strip().lower().replace("-", "")
    if not _HEX.fullmatch(text) or len(text) < 4:
        raise JobReferenceError("a job id or a prefix of at least 4 hex digits", ref=ref[:40])
    low = uuid.UUID(text.ljust(32, "0"))
    high = uuid.UUID(text.ljust(32, "f"))
    rows = conn.execute(load_query("console_job_by_prefix"), {"low": low, "high": high})
    found = [r["id"] for r in rows.fetchall()]
    if not found:
        raise JobReferenceError("no job has this id or prefix", ref=ref[:40])
    if len(found) > 1:
        raise JobReferenceError("several jobs start with this prefix; type more of it", ref=ref)
    job_id: uuid.UUID = found[0]
    return job_id


@dataclass(frozen=True)
class RejectedRow:
    """One rejected row: where it was, why, and its mapped values (item fields only)."""

    chunk_index: int
    record_ordinal: int
    errors: tuple[dict[str, Any], ...]
    values: dict[str, Any]


def rejected_sample(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, *, limit: int = 20
) -> list[RejectedRow]:
    """The first rejected rows of a job; values keep only catalog item fields."""
    rows = conn.execute(
        load_query("console_job_rejected_sample"), {"job_id": job_id, "limit": limit}
    ).fetchall()
    allowed = set(ITEM_FIELDS)
    return [
        RejectedRow(
            chunk_index=int(r["chunk_index"]),
            record_ordinal=int(r["record_ordinal"]),
            errors=tuple(e for e in r["errors"] if isinstance(e, dict)),
            values={
                k: v
                for k, v in (r["raw_data"] if isinstance(r["raw_data"], dict) else {}).items()
                if k in allowed
            },
        )
        for r in rows
    ]


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


# --- Landing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LandingObject:
    """An object in the landing area: its key, the source its folder names, its version."""

    key: str
    source: str | None
    version: ObjectVersion


@dataclass(frozen=True)
class LandingRow:
    """A landing object and its ingest state (by source + key + ETag)."""

    obj: LandingObject
    state: str  # never ingested | running | completed | failed | no source folder
    job_id: uuid.UUID | None = None
    job_status: str | None = None
    job_created_at: datetime | None = None

    @property
    def can_ingest(self) -> bool:
        """Whether an "Ingest" action makes sense (never ingested, or only failed attempts)."""
        return self.obj.source is not None and self.state in ("never ingested", "failed")


def list_landing(store: ObjectStore, *, limit: int = 500) -> list[LandingObject]:
    """The landing area's objects, newest first (at most `limit`)."""
    versions = sorted(store.list(), key=lambda v: v.last_modified, reverse=True)[:limit]
    root = store.root_uri.rstrip("/") + "/"
    found = []
    for version in versions:
        key = version.uri.removeprefix(root)
        try:
            source: str | None = source_of(check_relative_key(key))
        except CatalogError:
            source = None
        found.append(LandingObject(key=key, source=source, version=version))
    return found


def landing_states(
    conn: psycopg.Connection[Any], objects: Sequence[LandingObject]
) -> list[LandingRow]:
    """Each object with the state of the newest job of its ingest identity, same order."""
    keys = {
        id(o): compute_ingest_key(o.source, o.version.uri, o.version.etag)
        for o in objects
        if o.source is not None
    }
    rows = conn.execute(
        load_query("console_landing_jobs"), {"keys": sorted(set(keys.values()))}
    ).fetchall()
    newest = {r["ingest_key"]: r for r in rows}
    out = []
    for obj in objects:
        if obj.source is None:
            out.append(LandingRow(obj, "no source folder"))
            continue
        job = newest.get(keys[id(obj)])
        if job is None:
            out.append(LandingRow(obj, "never ingested"))
            continue
        state = {"pending": "running", "cancelled": "failed"}.get(job["status"], job["status"])
        out.append(LandingRow(obj, state, job["id"], job["status"], job["created_at"]))
    return out


# --- Maintenance ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MaintenanceRunRow:
    """One retention or audit run: when, how long, how it ended and what it did."""

    run_id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    status: str
    parameters: dict[str, Any]
    result: dict[str, Any] | None
    error_message: str | None

    @property
    def capped(self) -> bool:
        """Whether a retention run stopped at its batch limit with old rows left."""
        return bool(self.result and self.result.get("capped"))

    @property
    def summary(self) -> str:
        """What the run did, in a few words."""
        if self.status == "failed":
            return f"failed: {self.error_message or 'no message'}"
        if self.result is None:
            return "running" if self.status == "running" else "no result recorded"
        r = self.result
        if self.kind == "retention":
            text = f"deleted {r.get('deleted', 0):,} rows in {r.get('batches', 0)} batches"
            if r.get("dry_run"):
                text = f"dry run: would delete {r.get('deleted', 0):,} rows"
            return text + (" — capped, old rows remain" if r.get("capped") else "")
        if self.kind == "audit":
            return (
                f"{r.get('sources', 0)} sources, {r.get('flags', 0)} flags "
                f"({r.get('open_flags', 0)} open)"
            )
        return ", ".join(f"{k}={v}" for k, v in sorted(r.items()))


def maintenance_runs(
    conn: psycopg.Connection[Any], *, kind: str | None = None, limit: int = 60
) -> list[MaintenanceRunRow]:
    """Maintenance runs (or one kind), newest first."""
    rows = conn.execute(
        load_query("console_maintenance_runs"), {"kind": kind, "limit": limit}
    ).fetchall()
    return [
        MaintenanceRunRow(
            run_id=int(r["id"]),
            kind=r["kind"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            duration_ms=r["duration_ms"],
            status=r["status"],
            parameters=r["parameters"] or {},
            result=r["result"],
            error_message=r["error_message"],
        )
        for r in rows
    ]


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
