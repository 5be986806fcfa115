"""The ingest steps, one function per step, independent of the orchestrator that runs them.

How a step gets its database connection (the convention of `ingest` and `ops`): a step is a
unit of work called by a flow task, a CLI command or the webhook. It takes the `Runtime` (or,
when it needs no storage or embeddings, a `database_url`) and opens its own connection with
`catalog_lib.adapters.postgres.connect` for its own duration; connections are never passed
between steps (tasks may run in other threads or processes). The functions a step calls
(`jobs`, `ledger`, `staging`, `applying`) take that open `conn` and never open one.
Connections raise error-tree exceptions themselves, so a step has no error translation of
its own.

Order: start, plan, chunks, aggregate, reconcile (its own module, `ingest.reconciling`),
apply, finalize. Everything that may fail a
job on its own (the plan, a chunk, the ledger check, a transient error while counting) runs
before apply; reconcile records a count mismatch or an uncountable file on the job instead of
failing it. Apply partitions only prepare (merge and embed into `etl_prepared_items`);
finalize is the ONE step that publishes: one transaction upserts every prepared item, sums the
ledger into the job, drops its staged and prepared rows and completes it. A job that ends any
other way has published nothing (`jobs.mark_ended` drops what it prepared).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath

from catalog_lib.adapters.embeddings import EmbeddingProvider
from catalog_lib.adapters.postgres import Connection, connect, load_query
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import (
    DatabaseError,
    InvalidArgumentError,
    JobNotFoundError,
    JobNotRunnableError,
    LedgerIncompleteError,
    SourceChangedError,
    StorageError,
)
from catalog_lib.ingest import jobs, ledger
from catalog_lib.ingest.applying import ApplyResult, apply_partition, publish_job
from catalog_lib.ingest.ledger import ChunkResult, get_completed_chunk, record_failure
from catalog_lib.ingest.staging import stage_chunk
from catalog_lib.models.jobs import EtlJob, JobMode, LedgerPhase
from catalog_lib.rules.chunking import ChunkSpec, plan_chunks
from catalog_lib.rules.csv_header import DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_COLUMNS
from catalog_lib.rules.rows import parse_chunk

log = logging.getLogger(__name__)

# The header read of the flow body retries transient storage errors itself (read_header).
HEADER_READ_ATTEMPTS = 4
HEADER_READ_BACKOFF_S = 0.2


@dataclass(frozen=True)
class Runtime:
    """The IO handles every step needs, built once by an entry point."""

    database_url: str
    store: ObjectStore
    provider: EmbeddingProvider
    chunk_size: int
    apply_partitions: int = 4
    max_header_columns: int = DEFAULT_MAX_HEADER_COLUMNS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES


@dataclass(frozen=True)
class PlannedJob:
    """A job's object version and record-aligned chunk plan.

    `header` is the CSV header record (row content); `without_header()` is what may be stored
    outside the database (persisted task results): `read_header` gets the header back.
    """

    job_id: uuid.UUID
    version: ObjectVersion
    header: bytes
    chunks: tuple[ChunkSpec, ...]
    record_count: int
    adopted_chunks: int
    source_version: datetime
    apply_partitions: int
    data_start: int

    def without_header(self) -> PlannedJob:
        """The same plan with the header left out (ids, offsets and counts only)."""
        return replace(self, header=b"")


def request_ingest(
    rt: Runtime,
    *,
    source: str,
    uri_or_key: str,
    scraper_revision: str,
    chunk_size: int | None = None,
) -> jobs.TriggerResult:
    """HEAD the object and create its job, or return the live job of the same identity."""
    return request_ingest_version(
        rt,
        source=source,
        version=rt.store.head(rt.store.resolve(uri_or_key)),
        scraper_revision=scraper_revision,
        chunk_size=chunk_size,
    )


def request_ingest_version(
    rt: Runtime,
    *,
    source: str,
    version: ObjectVersion,
    scraper_revision: str,
    chunk_size: int | None = None,
) -> jobs.TriggerResult:
    """Create the job of an object version the caller already HEADed (no storage request)."""
    request = jobs.IngestRequest(
        source=source,
        filename=PurePosixPath(version.uri).name,
        version=version,
        scraper_revision=scraper_revision,
        chunk_size=chunk_size or rt.chunk_size,
    )
    with connect(rt.database_url) as conn:
        return jobs.trigger_ingest(conn, request)


def start_job(rt: Runtime, job_id: uuid.UUID, flow_run_id: uuid.UUID | None) -> EtlJob:
    """Move the job to running; refuse when it is not pending (or its own re-run)."""
    with connect(rt.database_url) as conn:
        job = jobs.get_job(conn, job_id)
        if job is None:
            raise JobNotFoundError("job does not exist", job_id=job_id)
        if not jobs.mark_running(conn, job_id, flow_run_id):
            raise JobNotRunnableError("job cannot be started", job_id=job_id, status=job.status)
        refreshed = jobs.get_job(conn, job_id)
    if refreshed is None:
        raise JobNotFoundError("job vanished while starting", job_id=job_id)
    return refreshed


def plan_job(rt: Runtime, job_id: uuid.UUID) -> PlannedJob:
    """Plan record-aligned chunks of the job's object version (one streaming read)."""
    with connect(rt.database_url) as conn:
        job = jobs.get_job(conn, job_id)
        if job is None:
            raise JobNotFoundError("job does not exist", job_id=job_id)
        version = jobs.stored_version(job)
        live = rt.store.head(version.uri)
        if (live.etag, live.size) != (version.etag, version.size):
            raise SourceChangedError(
                "the source changed since the job was created",
                object_key=version.uri,
                stored_etag=version.etag,
                live_etag=live.etag,
            )
        chunk_size = int(job.chunk_size or rt.chunk_size)
        plan = plan_chunks(
            rt.store.iter_bytes(version.uri, expected=version),
            size=version.size,
            chunk_size=chunk_size,
            max_header_columns=rt.max_header_columns,
            max_header_bytes=rt.max_header_bytes,
        )
        partitions = jobs.set_plan(
            conn,
            job_id,
            chunks_total=len(plan.chunks),
            chunk_size=chunk_size,
            apply_partitions=rt.apply_partitions,
        )
        adopted = 0
        superseded = job.supersedes_job_id
        if superseded is not None:
            previous = jobs.get_job(conn, superseded)
            reusable = (
                job.mode is JobMode.RETRY
                and previous is not None
                and previous.source_etag == version.etag
            )
            adopted = ledger.take_over_superseded(
                conn,
                job_id,
                superseded,
                [(c.index, c.byte_start, c.byte_end) for c in plan.chunks] if reusable else None,
            )
    return PlannedJob(
        job_id=job_id,
        version=version,
        header=plan.header,
        chunks=plan.chunks,
        record_count=plan.record_count,
        adopted_chunks=adopted,
        source_version=jobs.source_version_of(job),
        apply_partitions=partitions,
        data_start=plan.data_start,
    )


def read_header(rt: Runtime, version: ObjectVersion, data_start: int) -> bytes:
    """Read the header record again from the bytes before `data_start` (a small range read).

    The same planner parses them, so the result equals the header `plan_job` found. The flow
    reads it in its own body (no task result may hold row content), where no task retry
    applies, so a transient storage error is retried here: `HEADER_READ_ATTEMPTS` attempts
    with a short exponential backoff.
    """
    if data_start <= 0:
        raise InvalidArgumentError("data_start must be positive: the object has a header record")
    for attempt in range(1, HEADER_READ_ATTEMPTS + 1):
        try:
            prefix = rt.store.read_range(
                version.uri, 0, min(data_start, version.size) - 1, expected=version
            )
            break
        except StorageError as exc:
            if attempt == HEADER_READ_ATTEMPTS:
                raise
            log.warning(
                "header read failed; retrying",
                extra={
                    "event": "etl.header.retry",
                    "attempt": attempt,
                    "error_name": type(exc).__name__,
                },
            )
            time.sleep(HEADER_READ_BACKOFF_S * 2 ** (attempt - 1))
    return plan_chunks([prefix], size=len(prefix), chunk_size=len(prefix)).header


def run_chunk(
    rt: Runtime, job_id: uuid.UUID, version: ObjectVersion, header: bytes, spec: ChunkSpec
) -> ChunkResult:
    """Load one chunk exactly once: skip it if the ledger says completed, else stage it."""
    with connect(rt.database_url) as conn:
        done = get_completed_chunk(conn, job_id, spec.index)
        if done is not None:
            return done
        started_at = datetime.now(UTC)
        try:
            body = rt.store.read_range(
                version.uri, spec.byte_start, spec.byte_end, expected=version
            )
            parsed = parse_chunk(body, header=header, spec=spec)
            result = stage_chunk(conn, job_id, spec, parsed, started_at=started_at)
        except Exception as exc:
            _note_failure(rt, conn, job_id, LedgerPhase.CHUNK, spec.index, exc)
            raise
    log.info(
        "chunk staged",
        extra={
            "event": "etl.chunk.completed",
            "job_id": str(job_id),
            "chunk_index": spec.index,
            "skipped": result.skipped,
            "rows_valid": result.rows_valid,
            "rows_invalid": result.rows_invalid,
        },
    )
    return result


def run_apply_partition(
    rt: Runtime, job_id: uuid.UUID, partition: int, partitions: int, source_version: datetime
) -> ApplyResult:
    """Prepare partition `partition` of `partitions` (the job's fixed count) exactly once.

    Nothing is published: `finalize_job` publishes every prepared partition at once.
    """
    with connect(rt.database_url) as conn:
        try:
            return apply_partition(
                conn,
                job_id,
                partition=partition,
                partitions=partitions,
                source_version=source_version,
                provider=rt.provider,
            )
        except Exception as exc:
            _note_failure(rt, conn, job_id, LedgerPhase.APPLY, partition, exc)
            raise


def _note_failure(
    rt: Runtime,
    conn: Connection,
    job_id: uuid.UUID,
    phase: LedgerPhase,
    index: int,
    error: BaseException,
) -> None:
    """Record a failed attempt in the ledger, on a fresh connection if the step's one is lost.

    A killed or dropped connection is the commonest transient failure; noting it on that very
    connection would fail too, and the ledger's `attempts` would not show the retry.
    """
    if not (conn.closed or conn.broken):
        record_failure(conn, job_id, phase, index, error)
        return
    try:
        with connect(rt.database_url) as fresh:
            record_failure(fresh, job_id, phase, index, error)
    except DatabaseError:
        log.warning(
            "could not record a failed attempt in the ledger",
            extra={
                "event": "etl.ledger.record_failed",
                "job_id": str(job_id),
                "phase": str(phase),
                "chunk_index": index,
            },
        )


def aggregate_job(
    rt: Runtime, job_id: uuid.UUID, *, expected_records: int, expected_chunks: int
) -> jobs.JobTotals:
    """Sum the ledger into the job; every planned chunk must be completed exactly once."""
    with connect(rt.database_url) as conn:
        row = conn.execute(load_query("count_completed_chunks"), {"job_id": job_id}).fetchone()
        totals = jobs.aggregate_totals(conn, job_id)
    completed = int(row["n"]) if row else 0
    if completed != expected_chunks or totals.total_processed != expected_records:
        raise LedgerIncompleteError(
            "ledger does not cover the plan",
            job_id=job_id,
            chunks_completed=completed,
            chunks_planned=expected_chunks,
            records_processed=totals.total_processed,
            records_planned=expected_records,
        )
    return totals


def finalize_job(rt: Runtime, job_id: uuid.UUID) -> jobs.JobTotals | None:
    """Publish the job's prepared items and complete it in one transaction (`publish_job`).

    Returns the job's final totals, or None (nothing changed) if the job was not running.
    """
    with connect(rt.database_url) as conn:
        return publish_job(conn, job_id)


def end_job(
    rt: Runtime,
    job_id: uuid.UUID,
    status: jobs.JobStatus,
    *,
    error_kind: str,
    error_message: str,
    flow_run_id: uuid.UUID | None = None,
) -> bool:
    """Mark a job failed or cancelled with an error kind (no row data in the message).

    A job this call moved to `failed` is logged as `etl.job.failed` at ERROR (hence a Sentry
    event tagged with the job and its source).
    """
    with connect(rt.database_url) as conn:
        ended = jobs.mark_ended(
            conn,
            job_id,
            status,
            error_kind=error_kind,
            error_message=error_message,
            flow_run_id=flow_run_id,
        )
        job = jobs.get_job(conn, job_id) if ended else None
    if job is not None:
        failed = status is jobs.JobStatus.FAILED
        log.log(
            logging.ERROR if failed else logging.WARNING,
            "job ended",
            extra={
                "event": "etl.job.failed" if failed else "etl.job.cancelled",
                "job_id": str(job_id),
                "source": job.source,
                "error_kind": error_kind,
                "chunks_total": job.chunks_total,
            },
        )
    return ended
