"""The chunk phase's write: stage one parsed chunk exactly once.

One transaction per chunk holds its valid rows (COPY into `etl_staged_items`), its invalid rows
(`invalid_item_logs`) and its ledger row (`etl_job_chunks`). The ledger row is locked first, so
a chunk already `completed` is skipped whatever retries, re-runs or races happen.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from catalog_lib.adapters.postgres import load_query
from catalog_lib.ingest.ledger import CHUNK_PHASE, ChunkResult, chunk_result, lock_ledger_row
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.rows import ParsedChunk
from catalog_lib.rules.truncation import bound_document


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
            return chunk_result(ledger, skipped=True)
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
                        # Bounded: a hostile cell must not bloat the table (truncation.py).
                        to_json_text(bound_document(bad.errors, default=_json_default)),
                        to_json_text(bound_document(bad.item, default=_json_default)),
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
    return chunk_result(done, skipped=False)
