"""The chunk phase: parse, map and validate one chunk, then stage it exactly once.

One transaction per chunk holds its valid rows (COPY into `etl_staged_items`), its invalid rows
(`invalid_item_logs`) and its ledger row (`etl_job_chunks`). The ledger row is locked first, so
a chunk already `completed` is skipped whatever retries, re-runs or races happen.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from catalog_lib.chunking import ChunkSpec
from catalog_lib.db import load_query
from catalog_lib.errors import CatalogError, MalformedCsvError
from catalog_lib.mapping import map_row
from catalog_lib.records import iter_records
from catalog_lib.validation import validate_item

log = logging.getLogger(__name__)

CHUNK_PHASE = "chunk"
APPLY_PHASE = "apply"


@dataclass(frozen=True)
class ValidRow:
    """A valid mapped item with its file-level record ordinal."""

    ordinal: int
    sku: str
    item: dict[str, Any]


@dataclass(frozen=True)
class InvalidRow:
    """A rejected mapped item, its ordinal and its validation errors."""

    ordinal: int
    errors: list[dict[str, Any]]
    item: dict[str, Any]


@dataclass(frozen=True)
class ParsedChunk:
    """The outcome of parsing one chunk, before anything is written."""

    valid: list[ValidRow]
    invalid: list[InvalidRow]

    @property
    def processed(self) -> int:
        """Records parsed (valid + invalid)."""
        return len(self.valid) + len(self.invalid)


@dataclass(frozen=True)
class ChunkResult:
    """What the ledger says about one chunk after a chunk task ran."""

    chunk_index: int
    skipped: bool
    rows_processed: int
    rows_valid: int
    rows_invalid: int


def parse_chunk(body: bytes, *, header: bytes, spec: ChunkSpec) -> ParsedChunk:
    """Parse, map and validate the records of one chunk (pure: no IO)."""
    valid: list[ValidRow] = []
    invalid: list[InvalidRow] = []
    for ordinal, row in iter_records(body, header=header, first_record=spec.first_record):
        item = map_row(row)
        errors = validate_item(item)
        if errors:
            invalid.append(InvalidRow(ordinal, [e.to_json() for e in errors], item))
        else:
            valid.append(ValidRow(ordinal, item["sku"], item))
    parsed = ParsedChunk(valid, invalid)
    if parsed.processed != spec.record_count:
        # The planner and the parser must agree on record boundaries; never load a mismatch.
        raise MalformedCsvError(
            "chunk record count differs from the plan",
            chunk_index=spec.index,
            planned=spec.record_count,
            parsed=parsed.processed,
        )
    return parsed


def without_empty_values(item: dict[str, Any]) -> dict[str, Any]:
    """The item without null, '', [] and {} values: the staged form the per-SKU merge needs.

    "Later non-empty values win": an empty cell of a later duplicate row must not erase an
    earlier value, so empty values are never staged.
    """
    return {k: v for k, v in item.items() if v is not None and v != "" and v != [] and v != {}}


def to_json_text(value: Any) -> str:
    """JSON for staged and logged items; Decimals stay exact as strings."""
    return json.dumps(value, ensure_ascii=False, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


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
        raise LookupError("ledger row vanished while locked")
    return dict(row)


def stage_chunk(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    spec: ChunkSpec,
    parsed: ParsedChunk,
    *,
    started_at: datetime | None = None,
) -> ChunkResult:
    """Write the chunk's rows and its ledger row in ONE transaction; skip a completed chunk."""
    with conn.transaction():
        ledger = lock_ledger_row(
            conn,
            job_id,
            CHUNK_PHASE,
            spec.index,
            byte_start=spec.byte_start,
            byte_end=spec.byte_end,
            first_record=spec.first_record,
            record_count=spec.record_count,
        )
        if ledger["status"] == "completed":
            return _result_from_ledger(ledger, skipped=True)
        with conn.cursor().copy(
            "COPY etl_staged_items (job_id, record_ordinal, chunk_index, sku, item) FROM STDIN"
        ) as copy:
            for row in parsed.valid:
                copy.write_row(
                    (
                        job_id,
                        row.ordinal,
                        spec.index,
                        row.sku,
                        to_json_text(without_empty_values(row.item)),
                    )
                )
        with conn.cursor().copy(
            "COPY invalid_item_logs (job_id, chunk_index, record_ordinal, errors, raw_data) "
            "FROM STDIN"
        ) as copy:
            for bad in parsed.invalid:
                copy.write_row(
                    (
                        job_id,
                        spec.index,
                        bad.ordinal,
                        to_json_text(bad.errors),
                        to_json_text(bad.item),
                    )
                )
        done = conn.execute(
            load_query("complete_ledger_row"),
            {
                "job_id": job_id,
                "phase": CHUNK_PHASE,
                "index": spec.index,
                "processed": parsed.processed,
                "valid": len(parsed.valid),
                "invalid": len(parsed.invalid),
                "upserted": 0,
                "embedding_failures": 0,
                "started_at": started_at,
            },
        ).fetchone()
    if done is None:
        raise LookupError("ledger row vanished while locked")
    return _result_from_ledger(done, skipped=False)


def get_completed_chunk(
    conn: psycopg.Connection[Any], job_id: uuid.UUID, index: int
) -> ChunkResult | None:
    """The ledger's result for a completed chunk, or None."""
    row = conn.execute(
        "SELECT * FROM etl_job_chunks WHERE job_id = %s AND phase = %s AND chunk_index = %s "
        "AND status = 'completed'",
        (job_id, CHUNK_PHASE, index),
    ).fetchone()
    conn.commit()
    return _result_from_ledger(row, skipped=True) if row else None


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
    except psycopg.Error as exc:
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


def _result_from_ledger(row: dict[str, Any], *, skipped: bool) -> ChunkResult:
    return ChunkResult(
        chunk_index=row["chunk_index"],
        skipped=skipped,
        rows_processed=row["rows_processed"],
        rows_valid=row["rows_valid"],
        rows_invalid=row["rows_invalid"],
    )
