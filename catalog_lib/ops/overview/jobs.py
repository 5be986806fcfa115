"""The jobs page's reads: filtered pages of jobs, state counts, job references, rejected rows."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.core.errors import CatalogError, InvalidArgumentError
from catalog_lib.ops.overview.states import JOB_STATES, _opt_float
from catalog_lib.ops.reports import RejectedRow, find_jobs_by_prefix, list_rejected_rows

_HEX: Final = re.compile(r"[0-9a-f]{1,32}")


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
            raise InvalidArgumentError(f"unknown job states: {sorted(unknown)}")

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
        raise InvalidArgumentError(
            "limit must be positive and offset non-negative", limit=limit, offset=offset
        )
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

    The lookup is the CLI's (`reports.find_jobs_by_prefix`); the console adds the 4-digit floor.

    Raises:
        JobReferenceError: malformed, unknown, or an ambiguous prefix.
    """
    text = ref.strip().lower().replace("-", "")
    if not _HEX.fullmatch(text) or len(text) < 4:
        raise JobReferenceError("a job id or a prefix of at least 4 hex digits", ref=ref[:40])
    found = find_jobs_by_prefix(conn, text)
    if not found:
        raise JobReferenceError("no job has this id or prefix", ref=ref[:40])
    if len(found) > 1:
        raise JobReferenceError("several jobs start with this prefix; type more of it", ref=ref)
    return found[0].id


def rejected_sample(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, *, limit: int = 20
) -> list[RejectedRow]:
    """The first rejected rows of a job in file order; values keep only catalog item fields."""
    return list_rejected_rows(conn, job_id, limit=limit)
