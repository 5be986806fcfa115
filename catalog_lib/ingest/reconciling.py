"""The reconcile step: count the source's records independently and store the delta.

The count comes from `adapters.counting` (DuckDB, checked by the grammar scan), never from the
planner the chunks were cut by, so a planner and a parser that agree on a wrong count are
still caught. Reconcile never fails a job over the count: `etl_jobs` keeps the delta or why
the file could not be counted, and the audit raises `reconcile_mismatch` for both.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog_lib.adapters.counting import RecordCount, count_records
from catalog_lib.adapters.postgres import connect
from catalog_lib.core.errors import CatalogError, JobNotFoundError, TransientError
from catalog_lib.ingest import jobs
from catalog_lib.ingest.steps import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileReport:
    """The independent record count of the source against what the job processed.

    ``expected`` and ``delta`` are None when no count could be made (``note`` says why);
    ``counter`` names the implementation that counted (``duckdb`` or ``grammar``).
    """

    job_id: uuid.UUID
    expected: int | None
    actual: int
    delta: int | None
    verified_at: datetime
    counter: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class SourceCount:
    """The independent count of a job's source, or why none could be made (`unverified`)."""

    counted: RecordCount | None
    unverified: str | None = None


def count_source(rt: Runtime, job_id: uuid.UUID) -> SourceCount:
    """Count the job's object version; nothing is written (the flow runs it beside the chunks).

    A file that cannot be counted (changed, gone, unreadable) is a `SourceCount` with the
    reason; only transient errors propagate (the task retries them).
    """
    with connect(rt.database_url) as conn:
        job = jobs.get_job(conn, job_id)
    if job is None:
        raise JobNotFoundError("job does not exist", job_id=job_id)
    try:
        return SourceCount(count_records(rt.store, jobs.stored_version(job)))
    except TransientError:
        raise
    except CatalogError as exc:
        return SourceCount(None, f"{exc.kind}: {exc}")


def reconcile_job(
    rt: Runtime, job_id: uuid.UUID, source: SourceCount | None = None
) -> ReconcileReport:
    """Store the source's independent record count on the job, against what it processed.

    `source` is the count `count_source` made while the chunks loaded; without one the source
    is counted now (the `reconcile-job` action). Runs before apply and never fails the job
    over the count: a delta is stored and logged as `etl.reconcile.mismatch`; a file that
    cannot be counted is stored as `unverified: why`, logged as `etl.reconcile.unverified`.
    Both make the audit raise `reconcile_mismatch`. Only transient errors propagate.
    """
    if source is None:
        source = count_source(rt, job_id)
    with connect(rt.database_url) as conn:
        job = jobs.get_job(conn, job_id)
        if job is None:
            raise JobNotFoundError("job does not exist", job_id=job_id)
        processed = int(job.total_processed)
        verified_at = datetime.now(UTC)
        counted = source.counted
        if counted is None:
            why = source.unverified or "not counted"
            jobs.record_unverified(conn, job_id, why=why, at=verified_at)
            log.warning(
                "reconcile could not count the source",
                extra={"event": "etl.reconcile.unverified", "job_id": str(job_id), "why": why},
            )
            return ReconcileReport(
                job_id, None, processed, None, verified_at, None, f"unverified: {why}"
            )
        delta = jobs.record_reconcile(
            conn,
            job_id,
            verified_row_count=counted.records,
            verified_at=verified_at,
            counter=counted.method,
            note=counted.note,
        )
    if delta != 0:
        log.warning(
            "reconcile found a delta",
            extra={
                "event": "etl.reconcile.mismatch",
                "job_id": str(job_id),
                "delta": delta,
                "expected": counted.records,
                "counter": counted.method,
            },
        )
    return ReconcileReport(
        job_id=job_id,
        expected=counted.records,
        actual=processed,
        delta=delta,
        verified_at=verified_at,
        counter=counted.method,
        note=counted.note,
    )
