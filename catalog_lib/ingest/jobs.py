"""The life of an `etl_jobs` row: identity, trigger deduplication, guarded transitions, totals."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.adapters.storage import ObjectVersion
from catalog_lib.core.errors import (
    DatabaseConflictError,
    InvalidArgumentError,
    JobNotFoundError,
    SourceChangedError,
)
from catalog_lib.models.jobs import EtlJob, JobMode, JobStatus

__all__ = [
    "MAX_ERROR_MESSAGE",
    "EtlJob",
    "IngestRequest",
    "JobMode",
    "JobStatus",
    "JobTotals",
    "TriggerResult",
]

# Error messages stored on a job are bounded: they are for operators, not for row data.
MAX_ERROR_MESSAGE = 2000


@dataclass(frozen=True)
class IngestRequest:
    """A request to ingest one object version for one source."""

    source: str
    filename: str
    version: ObjectVersion
    scraper_revision: str
    chunk_size: int


@dataclass(frozen=True)
class TriggerResult:
    """The job a trigger resolved to, and whether it was newly created."""

    job_id: uuid.UUID
    created: bool
    duplicate_of: uuid.UUID | None
    supersedes_job_id: uuid.UUID | None
    status: JobStatus


@dataclass(frozen=True)
class JobTotals:
    """Totals of a job, summed over its ledger."""

    total_processed: int
    total_valid: int
    total_invalid: int
    total_embedding_failures: int
    items_upserted: int


def compute_ingest_key(source: str, object_uri: str, etag: str) -> str:
    """The identity of one ingest: (source, object key, ETag), hashed to a fixed width."""
    digest = hashlib.sha256("\x1f".join((source, object_uri, etag)).encode("utf-8"))
    return digest.hexdigest()


def trigger_ingest(conn: psycopg.Connection[Any], request: IngestRequest) -> TriggerResult:
    """Create a job for `request`, or return the live job of the same identity.

    A running, pending or completed job of the same identity is returned as `duplicate_of`.
    If the newest job of that identity failed or was cancelled, a retry job superseding it is
    created. The partial unique indexes make racing triggers resolve to a single job.
    """
    key = compute_ingest_key(request.source, request.version.uri, request.version.etag)
    with conn.transaction():
        existing = conn.execute(
            load_query("find_jobs_by_ingest_key"), {"ingest_key": key}
        ).fetchall()
        if existing and JobStatus(existing[0]["status"]).is_live:
            return _duplicate(existing[0])
        supersedes = existing[0]["id"] if existing else None
        new_id = uuid.uuid4()
        inserted = conn.execute(
            load_query("insert_job"),
            {
                "id": new_id,
                "source": request.source,
                "filename": request.filename,
                "object_key": request.version.uri,
                "scraper_revision": request.scraper_revision,
                "ingest_key": key,
                "chunk_size": request.chunk_size,
                "source_etag": request.version.etag,
                "source_last_modified": request.version.last_modified,
                "source_size": request.version.size,
                "supersedes_job_id": supersedes,
                "mode": str(JobMode.RETRY if supersedes else JobMode.INGEST),
            },
        ).fetchone()
    if inserted is not None:
        return TriggerResult(
            job_id=new_id,
            created=True,
            duplicate_of=None,
            supersedes_job_id=supersedes,
            status=JobStatus.PENDING,
        )
    # Another trigger won the race; its job is live now.
    winner = conn.execute(load_query("find_jobs_by_ingest_key"), {"ingest_key": key}).fetchone()
    if winner is None or not JobStatus(winner["status"]).is_live:
        raise DatabaseConflictError("ingest trigger lost a race but found no live job")
    return _duplicate(winner)


def _duplicate(row: dict[str, Any]) -> TriggerResult:
    return TriggerResult(
        job_id=row["id"],
        created=False,
        duplicate_of=row["id"],
        supersedes_job_id=row["supersedes_job_id"],
        status=JobStatus(row["status"]),
    )


def get_job(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> EtlJob | None:
    """Return the job, or None."""
    row = conn.execute(load_query("get_job"), {"job_id": job_id}).fetchone()
    return None if row is None else EtlJob.model_validate(row)


def mark_running(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, flow_run_id: uuid.UUID | None
) -> bool:
    """Pending → running (or a re-run of the job's own flow run); False if not allowed."""
    row = conn.execute(
        load_query("job_mark_running"), {"id": job_id, "run": flow_run_id}
    ).fetchone()
    conn.commit()
    return row is not None


def set_plan(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    *,
    chunks_total: int,
    chunk_size: int,
    apply_partitions: int,
) -> int:
    """Record how the job's object was split; returns the job's apply partition count.

    The partition count is fixed at the first plan: the apply ledger is keyed by partition
    index, so a re-run with another count would skip SKUs that moved between partitions.
    """
    row = conn.execute(
        load_query("job_set_plan"),
        {
            "chunks_total": chunks_total,
            "chunk_size": chunk_size,
            "apply_partitions": apply_partitions,
            "id": job_id,
        },
    ).fetchone()
    conn.commit()
    if row is None:
        raise JobNotFoundError("job does not exist", job_id=job_id)
    return int(row["apply_partitions"])


def aggregate_totals(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> JobTotals:
    """Recompute the job's totals from its ledger and store them."""
    row = conn.execute(load_query("aggregate_job_totals"), {"job_id": job_id}).fetchone()
    conn.commit()
    if row is None:
        raise JobNotFoundError("job does not exist", job_id=job_id)
    return JobTotals(**row)


def record_reconcile(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    *,
    verified_row_count: int,
    verified_at: datetime,
    counter: str | None = None,
    note: str | None = None,
) -> int:
    """Store the independent record count and return delta = verified − processed."""
    row = conn.execute(
        load_query("job_record_reconcile"),
        {
            "n": verified_row_count,
            "at": verified_at,
            "counter": counter,
            "note": note,
            "id": job_id,
        },
    ).fetchone()
    conn.commit()
    if row is None:
        raise JobNotFoundError("job does not exist", job_id=job_id)
    return int(row["reconcile_delta"])


def record_unverified(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, *, why: str, at: datetime
) -> None:
    """Record that no independent count could be made: no count, no delta, `unverified: why`."""
    row = conn.execute(
        load_query("job_record_reconcile"),
        {
            "n": None,
            "at": at,
            "counter": None,
            "note": f"unverified: {why}"[:MAX_ERROR_MESSAGE],
            "id": job_id,
        },
    ).fetchone()
    conn.commit()
    if row is None:
        raise JobNotFoundError("job does not exist", job_id=job_id)


def stored_version(job: EtlJob) -> ObjectVersion:
    """The object version the job was created from (its HEAD: size, ETag, last-modified)."""
    # Jobs are created from a HEAD, so the version is complete; a legacy row without one
    # cannot be verified against the live object, which is what a changed source means.
    size, etag, modified = job.source_size, job.source_etag, job.source_last_modified
    if size is None or etag is None or modified is None:
        raise SourceChangedError(
            "the job has no stored object version", object_key=job.object_key, stored_etag=etag
        )
    return ObjectVersion(uri=job.object_key, size=size, etag=etag, last_modified=modified)


def source_version_of(job: EtlJob) -> datetime:
    """The version of the job's source file: its last-modified time, else the job's creation."""
    return job.source_last_modified or job.created_at


def discard_unpublished(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> None:
    """Drop what a job prepared but never published (call it where the job ends unpublished).

    Its prepared items are deleted and its completed apply partitions marked discarded, so a
    re-run of the job prepares them again. Staged rows and completed chunks stay: the job's
    retry adopts (moves) them, and a retry or repair releases whatever is left.
    """
    conn.execute(load_query("delete_prepared_items"), {"job_id": job_id})
    conn.execute(load_query("discard_apply_partitions"), {"job_id": job_id})


def mark_ended(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    status: JobStatus,
    *,
    error_kind: str,
    error_message: str,
    flow_run_id: uuid.UUID | None = None,
) -> bool:
    """pending/running → failed or cancelled with an error kind; False if already ended.

    In the same transaction the job's unpublished work is discarded (`discard_unpublished`):
    a job that did not complete never publishes anything.

    With `flow_run_id`, only that run's own job (or a job no run has claimed yet) is ended: a
    second run that was refused for a job another run is working on must not fail that job.
    """
    if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise InvalidArgumentError("mark_ended only moves a job to failed or cancelled")
    with conn.transaction():
        row = conn.execute(
            load_query("job_mark_ended"),
            {
                "status": str(status),
                "kind": error_kind,
                "message": error_message[:MAX_ERROR_MESSAGE],
                "id": job_id,
                "run": flow_run_id,
            },
        ).fetchone()
        if row is not None:
            discard_unpublished(conn, job_id)
    conn.commit()
    return row is not None


def create_superseding_job(
    conn: psycopg.Connection[Any],
    original: EtlJob,
    *,
    mode: JobMode,
    version: ObjectVersion,
    eligible_statuses: Iterable[JobStatus],
    default_chunk_size: int,
) -> uuid.UUID | None:
    """Insert a pending job that replaces `original` for the object version `version`.

    The original row is only read. Returns None when the original is no longer in one of
    `eligible_statuses` or another pending/running job already replaces it (the partial
    unique index `etl_jobs_live_supersedes_uq` settles races between two callers).
    """
    if mode not in (JobMode.RETRY, JobMode.REPAIR):
        raise InvalidArgumentError("a superseding job is a retry or a repair")
    new_id = uuid.uuid4()
    row = conn.execute(
        load_query("insert_superseding_job"),
        {
            "id": new_id,
            "supersedes_job_id": original.id,
            "ingest_key": compute_ingest_key(original.source, original.object_key, version.etag),
            "chunk_size": default_chunk_size,
            "source_etag": version.etag,
            "source_last_modified": version.last_modified,
            "source_size": version.size,
            "mode": str(mode),
            "eligible_statuses": [str(s) for s in eligible_statuses],
        },
    ).fetchone()
    return new_id if row is not None else None


def list_successors(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> list[EtlJob]:
    """The jobs that directly replace `job_id` (its retries and repairs), newest first."""
    rows = conn.execute(load_query("job_successors"), {"job_id": job_id}).fetchall()
    return [EtlJob.model_validate(r) for r in rows]
