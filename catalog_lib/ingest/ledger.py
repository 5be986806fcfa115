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

log = logging.getLogger(__name__)

CHUNK_PHASE = "chunk"
APPLY_PHASE = "apply"


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
    phase: str,
    index: int,
    *,
    byte_start: int | None = None,
    byte_end: int | None = None,
    first_record: int | None = None,
    record_count: int | None = None,
) -> dict[str, Any]:
    """Insert-or-lock the ledger row of (job, phase, index) inside the caller's transaction."""
    params = {"job_id": job_id, "phase": phase, "index": index}
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
        raise LedgerRowMissingError("ledger row vanished while locked", phase=phase, index=index)
    return dict(row)


def get_completed_chunk(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, index: int
) -> ChunkResult | None:
    """The ledger's result for a completed chunk, or None."""
    row = get_completed_row(conn, job_id, CHUNK_PHASE, index)
    conn.commit()
    return chunk_result(row, skipped=True) if row else None


def get_completed_row(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, phase: str, index: int
) -> dict[str, Any] | None:
    """The completed ledger row of (job, phase, index), or None."""
    row: dict[str, Any] | None = conn.execute(
        load_query("get_completed_ledger_row"), {"job_id": job_id, "phase": phase, "index": index}
    ).fetchone()
    return row


def record_failure(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, phase: str, index: int, error: BaseException
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
                "phase": phase,
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
                "phase": phase,
                "chunk_index": index,
                "error_name": type(exc).__name__,
            },
        )


def chunk_result(row: dict[str, Any], *, skipped: bool) -> ChunkResult:
    """The `ChunkResult` a ledger row records."""
    return ChunkResult(
        chunk_index=row["chunk_index"],
        skipped=skipped,
        rows_processed=row["rows_processed"],
        rows_valid=row["rows_valid"],
        rows_invalid=row["rows_invalid"],
    )


def adopt_completed_chunks(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    from_job_id: uuid.UUID,
    chunks: list[tuple[int, int, int]],
) -> int:
    """Copy the superseded job's completed chunks whose byte ranges match this job's plan."""
    with conn.transaction():
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
    return int(row["adopted"]) if row else 0
