"""The chunk ledger (`etl_job_chunks`): one row per (job, phase, index), written with its work.

A ledger row is locked (inserted or selected FOR UPDATE) inside the transaction of the work it
records, so a chunk or partition already `completed` is skipped whatever retries, re-runs or
races happen. Job totals are sums over these rows.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.core.errors import (
    CatalogError,
    DatabaseError,
    DatabaseQueryError,
    LedgerRowMissingError,
)
from catalog_lib.models.jobs import ChunkStatus, EtlJobChunk, LedgerPhase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkResult:
    """What the ledger says about one chunk after a chunk task ran."""

    chunk_index: int
    skipped: bool
    rows_processed: int
    rows_valid: int
    rows_invalid: int


def lock_ledger_row(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    phase: LedgerPhase,
    index: int,
    *,
    byte_start: int | None = None,
    byte_end: int | None = None,
    first_record: int | None = None,
    record_count: int | None = None,
) -> EtlJobChunk:
    """Insert-or-lock the ledger row of (job, phase, index) inside the caller's transaction."""
    params = {"job_id": job_id, "phase": str(phase), "index": index}
    conn.execute(
        load_query("lock_ledger_row"),
        {
            **params,
            "byte_start": byte_start,
            "byte_end": byte_end,
            "first_record": first_record,
            "record_count": record_count,
        },
    )
    row = conn.execute(load_query("select_ledger_row_for_update"), params).fetchone()
    if row is None:
        raise LedgerRowMissingError(
            "ledger row vanished while locked", phase=str(phase), index=index
        )
    return EtlJobChunk.model_validate(row)


def get_completed_chunk(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, index: int
) -> ChunkResult | None:
    """The ledger's result for a completed chunk, or None."""
    entry = get_completed_row(conn, job_id, LedgerPhase.CHUNK, index)
    conn.commit()
    return chunk_result(entry, skipped=True) if entry else None


def get_completed_row(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, phase: LedgerPhase, index: int
) -> EtlJobChunk | None:
    """The completed ledger entry of (job, phase, index), or None."""
    row = conn.execute(
        load_query("get_completed_ledger_row"),
        {"job_id": job_id, "phase": str(phase), "index": index},
    ).fetchone()
    return None if row is None else EtlJobChunk.model_validate(row)


def record_failure(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    phase: LedgerPhase,
    index: int,
    error: BaseException,
) -> None:
    """Note a failed attempt in the ledger (its work was rolled back); never touch row data.

    Best effort: when the database itself is what failed, the original error matters more than
    this note, so a failure to write it is logged and the caller re-raises the original error.
    """
    kind = error.kind if isinstance(error, CatalogError) else "internal"
    message = str(error) if isinstance(error, CatalogError) else type(error).__name__
    try:
        conn.rollback()
        conn.execute(
            load_query("fail_ledger_row"),
            {
                "job_id": job_id,
                "phase": str(phase),
                "index": index,
                "kind": kind,
                "message": message[:2000],
            },
        )
        conn.commit()
    except (DatabaseError, DatabaseQueryError) as exc:
        log.warning(
            "could not record a failed attempt in the ledger",
            extra={
                "event": "etl.ledger.record_failed",
                "job_id": str(job_id),
                "phase": str(phase),
                "chunk_index": index,
                "error_name": type(exc).__name__,
            },
        )


def chunk_result(entry: EtlJobChunk, *, skipped: bool) -> ChunkResult:
    """The `ChunkResult` a ledger entry records."""
    return ChunkResult(
        chunk_index=entry.chunk_index,
        skipped=skipped,
        rows_processed=entry.rows_processed,
        rows_valid=entry.rows_valid,
        rows_invalid=entry.rows_invalid,
    )


def is_completed(entry: EtlJobChunk) -> bool:
    """Whether the ledger says this chunk or partition is done (its work is never redone)."""
    return entry.status is ChunkStatus.COMPLETED


def take_over_superseded(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    from_job_id: uuid.UUID,
    chunks: list[tuple[int, int, int]] | None,
) -> int:
    """Adopt the superseded job's reusable chunks, then release the rest of its staged rows.

    With `chunks` (index, byte start, byte end of this job's plan; a retry of the same object
    version), every completed chunk of `from_job_id` with the same byte range whose staged rows
    it still holds in full is adopted: ledger and rejected rows copied, staged rows moved. Then
    (also for a repair, `chunks=None`) the staged rows a failed or cancelled `from_job_id` still
    holds are deleted: it will never be published. One transaction; returns how many chunks
    were adopted.
    """
    adopted = 0
    with conn.transaction():
        if chunks:
            row = conn.execute(
                load_query("adopt_completed_chunks"),
                {
                    "job_id": job_id,
                    "from_job_id": from_job_id,
                    "chunk_indexes": [c[0] for c in chunks],
                    "byte_starts": [c[1] for c in chunks],
                    "byte_ends": [c[2] for c in chunks],
                },
            ).fetchone()
            adopted = int(row["adopted"]) if row else 0
        conn.execute(load_query("release_superseded_staging"), {"from_job_id": from_job_id})
    return adopted
