"""The chunk phase's write: stage one parsed chunk exactly once.

One transaction per chunk holds its valid rows (binary COPY of typed columns into
`etl_staged_items`), its invalid rows (`invalid_item_logs`) and its ledger row
(`etl_job_chunks`). The ledger row is locked first, so a chunk already `completed` is skipped
whatever retries, re-runs or races happen.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, get_args

import orjson
import psycopg
from psycopg.types.string import BytesBinaryDumper

from catalog_lib.adapters.postgres import load_query
from catalog_lib.core.errors import LedgerRowMissingError
from catalog_lib.core.failpoints import failpoint
from catalog_lib.ingest.ledger import ChunkResult, chunk_result, is_completed, lock_ledger_row
from catalog_lib.models.catalog import Availability
from catalog_lib.models.jobs import EtlJobChunk, ItemColumns, LedgerPhase
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.rows import ParsedChunk, ValidRow
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
# What the rows are handed to COPY as: the job id as its 16 bytes and every jsonb cell already
# in jsonb's binary form (`_JSONB_VERSION`, then the JSON text), both through psycopg's C
# `bytea` dumper. A binary COPY stream carries no type OIDs: the server reads each field with
# its column's receive function (uuid_recv, jsonb_recv), so the stream is byte for byte the one
# psycopg's own uuid and jsonb dumpers write for `STAGED_TYPES`, without two Python dumper
# calls per cell.
COPY_TYPES: Final = tuple("bytea" if t in ("uuid", "jsonb") else t for t in STAGED_TYPES)
_JSONB_AT: Final = tuple(at for at, (_, t) in enumerate(ITEM_COLUMNS) if t == "jsonb")
_JSONB_VERSION: Final = b"\x01"
_EMPTY_TYPES: Final = (str, list, dict)


def staged_values(item: dict[str, Any]) -> list[Any]:
    """The item's values in `ITEM_COLUMNS` order; None where it has none (null, '', [] or {}).

    "Later non-empty values win": an empty cell of a later duplicate row must not erase an
    earlier value, so an empty value is staged as NULL, which the per-SKU merge skips.
    """
    # Empty is falsy AND None or a str/list/dict: 0, 0.0, False and Decimal('0') are values.
    return [
        None if not v and (v is None or isinstance(v, _EMPTY_TYPES)) else v
        for v in map(item.get, ITEM_FIELDS)
    ]


def copy_values(item: dict[str, Any]) -> list[Any]:
    """`staged_values` as COPY takes them (`COPY_TYPES`): each jsonb cell as binary jsonb."""
    values = staged_values(item)
    for at in _JSONB_AT:
        value = values[at]
        if value is not None:
            values[at] = _JSONB_VERSION + json_bytes(value)
    return values


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    # json.dumps' `default` hook must raise TypeError for a value it cannot encode.
    raise TypeError(f"cannot serialise {type(value).__name__}")


# Built once: `json.dumps` with these options would build a new encoder on every call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, default=_json_default, separators=(",", ":"))


def to_json_text(value: Any) -> str:
    """JSON of logged (rejected) items and the reference text of the staged jsonb cells.

    The stdlib encoder: compact, non-ASCII as is, Decimals as exact strings; `json_bytes` is
    the same text, faster.
    """
    return _ENCODER.encode(value)


# orjson writes the stdlib's text (compact, non-ASCII as is, the same escapes and key order,
# Decimals through the same hook) except where `json_bytes` hands the value to `to_json_text`:
# - orjson refuses it: an int beyond 64 bits, a non-str key, nesting deeper than 255, a
#   surrogate, or a value the hook refuses (datetimes and dataclasses are passed to the hook,
#   as the stdlib does) - the stdlib then writes it, or raises today's error;
# - NaN / ±Infinity, which orjson writes as `null` (the stdlib: NaN, which PostgreSQL refuses);
# - a float below 1e-4 in magnitude, which orjson writes `0.00001` / `1e-7` (the stdlib:
#   `1e-05` / `1e-07`).
# The last two leave a mark in orjson's text: `null`, `0.0000` or a digit before `e-`; any
# text with one is re-encoded (false alarms - a real null, such words in a string - cost time
# only). Not covered, because a staged cell is parsed JSON (rules/jsonish.py) and never holds
# one: `uuid.UUID` and non-str `Enum` members, which orjson encodes and the stdlib refuses.
_ORJSON_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SMALL_FLOAT: Final = re.compile(rb"[0-9]e-")


def json_bytes(value: Any) -> bytes:
    """UTF-8 of `to_json_text(value)` (or its error), through orjson where it writes the same."""
    try:
        text = orjson.dumps(value, default=_json_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return to_json_text(value).encode()
    if (
        text.find(b"null") < 0
        and text.find(b"0.0000") < 0
        and (text.find(b"e-") < 0 or _SMALL_FLOAT.search(text) is None)
    ):
        return text
    return to_json_text(value).encode()


def write_staged_rows(
    copy: psycopg.Copy, job_id: uuid.UUID, chunk_index: int, rows: Iterable[ValidRow]
) -> None:
    """Write valid rows into a binary COPY of `copy_staged_items`' columns."""
    # psycopg's bytea dumper by OID is dbapi20's (it unwraps `Binary`, in Python); these bytes
    # are plain, so the C dumper (for this cursor only) takes them as they are.
    copy.cursor.adapters.register_dumper(bytes, BytesBinaryDumper)
    copy.set_types(COPY_TYPES)
    job = job_id.bytes
    for row in rows:
        copy.write_row([job, row.ordinal, chunk_index, row.sku, *copy_values(row.item)])


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
        with conn.cursor().copy(load_query("copy_staged_items")) as copy:
            write_staged_rows(copy, job_id, spec.index, parsed.valid)
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
