"""The chunk phase's write: stage one parsed chunk exactly once.

One transaction per chunk holds its valid rows (binary COPY of typed columns into
`etl_staged_items`), its invalid rows (`invalid_item_logs`) and its ledger row
(`etl_job_chunks`). The ledger row is locked first, so a chunk already `completed` is skipped
whatever retries, re-runs or races happen.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, get_args

import psycopg
from psycopg.types.json import set_json_dumps

from catalog_lib.adapters.postgres import load_query
from catalog_lib.core.errors import LedgerRowMissingError
from catalog_lib.core.failpoints import failpoint
from catalog_lib.ingest.ledger import ChunkResult, chunk_result, is_completed, lock_ledger_row
from catalog_lib.models.catalog import Availability
from catalog_lib.models.jobs import EtlJobChunk, ItemColumns, LedgerPhase
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.rows import ParsedChunk
from catalog_lib.rules.truncation import bound_document

# psycopg's binary COPY type for each Python type of `ItemColumns` (the model the staged and
# prepared tables share with `catalog_items`' columns); `Availability` is an enum, whose binary
# form is its label's text; an `Any` field is a jsonb column.
_COPY_TYPE: Final[dict[object, str]] = {
    str: "text",
    float: "float8",
    int: "int4",
    Decimal: "numeric",
    Availability: "text",
}


def _copy_type(annotation: object) -> str:
    present = [t for t in get_args(annotation) if t is not type(None)] or [annotation]
    return _COPY_TYPE.get(present[0], "jsonb")


# The staged columns after (job_id, record_ordinal, chunk_index, sku), in the model's order.
ITEM_COLUMNS: Final[tuple[tuple[str, str], ...]] = tuple(
    (name, _copy_type(field.annotation)) for name, field in ItemColumns.model_fields.items()
)
ITEM_FIELDS: Final = tuple(name for name, _ in ITEM_COLUMNS)
STAGED_TYPES: Final = ("uuid", "int8", "int4", "text", *(t for _, t in ITEM_COLUMNS))
_EMPTY: Final[tuple[object, ...]] = ("", [], {})


def staged_values(item: dict[str, Any]) -> list[Any]:
    """The item's values in `ITEM_COLUMNS` order; None where it has none (null, '', [] or {}).

    "Later non-empty values win": an empty cell of a later duplicate row must not erase an
    earlier value, so an empty value is staged as NULL, which the per-SKU merge skips.
    """
    values = [item.get(name) for name in ITEM_FIELDS]
    return [None if v is None or v in _EMPTY else v for v in values]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    # json.dumps' `default` hook must raise TypeError for a value it cannot encode.
    raise TypeError(f"cannot serialise {type(value).__name__}")


# Built once: `json.dumps` with these options would build a new encoder on every call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, default=_json_default, separators=(",", ":"))


def to_json_text(value: Any) -> str:
    """JSON for staged jsonb columns and logged items; Decimals stay exact as strings."""
    return _ENCODER.encode(value)


def stage_chunk(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    spec: ChunkSpec,
    parsed: ParsedChunk,
    *,
    started_at: datetime | None = None,
) -> ChunkResult:
    """Write the chunk's rows and its ledger row in ONE transaction; skip a completed chunk."""
    failpoint("chunk.before_tx")
    with conn.transaction():
        ledger = lock_ledger_row(
            conn,
            job_id,
            LedgerPhase.CHUNK,
            spec.index,
            byte_start=spec.byte_start,
            byte_end=spec.byte_end,
            first_record=spec.first_record,
            record_count=spec.record_count,
        )
        if is_completed(ledger):
            return chunk_result(ledger, skipped=True)
        staged = conn.cursor()
        # jsonb columns: the same JSON text as invalid rows (Decimals as exact strings).
        set_json_dumps(to_json_text, context=staged)
        with staged.copy(load_query("copy_staged_items")) as copy:
            copy.set_types(STAGED_TYPES)
            for row in parsed.valid:
                copy.write_row([job_id, row.ordinal, spec.index, row.sku, *staged_values(row.item)])
        with conn.cursor().copy(load_query("copy_invalid_item_logs")) as copy:
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
        failpoint("chunk.in_tx")
        done = conn.execute(
            load_query("complete_ledger_row"),
            {
                "job_id": job_id,
                "phase": str(LedgerPhase.CHUNK),
                "index": spec.index,
                "processed": parsed.processed,
                "valid": len(parsed.valid),
                "invalid": len(parsed.invalid),
                "upserted": 0,
                "embedding_failures": 0,
                "started_at": started_at,
            },
        ).fetchone()
    failpoint("chunk.after_commit")
    if done is None:
        raise LedgerRowMissingError("ledger row vanished while locked", index=spec.index)
    return chunk_result(EtlJobChunk.model_validate(done), skipped=False)
