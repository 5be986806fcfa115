"""One chunk's records parsed, mapped and validated: the pure half of the chunk phase.

`parse_chunk` takes the columnar path (`columnar_read`, `columnar_items`) when the chunk's
bytes allow it and the row-wise path (`parse_chunk_rowwise`, the reference) otherwise; both
give the same `ParsedChunk` (tests/catalog_lib/rules/test_columnar_differential.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from catalog_lib.core.errors import MalformedCsvError
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.columnar_items import COLUMNS, map_columns
from catalog_lib.rules.columnar_read import read_columns
from catalog_lib.rules.mapping import map_row
from catalog_lib.rules.records import header_cells, iter_records
from catalog_lib.rules.text import scrub
from catalog_lib.rules.validation import validate_item


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


def finish_row(ordinal: int, raw: dict[str, Any]) -> ValidRow | InvalidRow:
    """Validate a mapped item exactly and scrub what cannot be stored."""
    errors = validate_item(raw)
    # What is stored never holds a character PostgreSQL refuses (`text.scrub`). Both the
    # raw and the scrubbed item are validated: a NUL in a SKU is an invalid character, and
    # a name of only NULs is an empty name.
    item = scrub(raw)
    if item != raw:
        seen = {(e.field, e.reason) for e in errors}
        errors += [e for e in validate_item(item) if (e.field, e.reason) not in seen]
    if errors:
        return InvalidRow(ordinal, scrub([e.to_json() for e in errors]), item)
    return ValidRow(ordinal, item["sku"], item)


def _checked(parsed: ParsedChunk, spec: ChunkSpec) -> ParsedChunk:
    if parsed.processed != spec.record_count:
        # The planner and the parser must agree on record boundaries; never load a mismatch.
        raise MalformedCsvError(
            "chunk record count differs from the plan",
            chunk_index=spec.index,
            planned=spec.record_count,
            parsed=parsed.processed,
        )
    return parsed


def parse_chunk_rowwise(body: bytes, *, header: bytes, spec: ChunkSpec) -> ParsedChunk:
    """Parse, map and validate the records of one chunk row by row (the reference path)."""
    valid: list[ValidRow] = []
    invalid: list[InvalidRow] = []
    for ordinal, row in iter_records(body, header=header, first_record=spec.first_record):
        outcome = finish_row(ordinal, map_row(row))
        if isinstance(outcome, ValidRow):
            valid.append(outcome)
        else:
            invalid.append(outcome)
    return _checked(ParsedChunk(valid, invalid), spec)


def parse_chunk_columnar(body: bytes, *, header: bytes, spec: ChunkSpec) -> ParsedChunk | None:
    """The columnar path, or None when the chunk's bytes need the row-wise reader."""
    try:
        names = header_cells(header)
    except MalformedCsvError:
        return None  # the row-wise path raises it
    columns = {name.strip(): index for index, name in enumerate(names)}
    wanted = {name: columns[name] for name in COLUMNS if name in columns}
    cells = read_columns(body, width=len(names), columns=wanted, record_count=spec.record_count)
    if cells is None:
        return None
    with _collector_paused():
        items, check = map_columns(cells, spec.record_count)
        valid: list[ValidRow] = []
        invalid: list[InvalidRow] = []
        ordinal = spec.first_record
        for item, exact in zip(items, check.tolist(), strict=True):
            if not exact:
                valid.append(ValidRow(ordinal, item["sku"], item))
            else:
                outcome = finish_row(ordinal, item)
                if isinstance(outcome, ValidRow):
                    valid.append(outcome)
                else:
                    invalid.append(outcome)
            ordinal += 1
    return _checked(ParsedChunk(valid, invalid), spec)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a chunk's items are built.

    The items are acyclic and all stay alive, so the collections their allocation triggers
    (a quarter of the columnar path's time) find nothing; the collector is re-enabled only if
    it was enabled, so nesting and other threads never leave it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_chunk(body: bytes, *, header: bytes, spec: ChunkSpec) -> ParsedChunk:
    """Parse, map and validate the records of one chunk (pure: no IO).

    Raises:
        MalformedCsvError: the bytes are not valid CSV, or hold another number of records
            than the plan says.
    """
    parsed = parse_chunk_columnar(body, header=header, spec=spec)
    if parsed is None:
        return parse_chunk_rowwise(body, header=header, spec=spec)
    return parsed
