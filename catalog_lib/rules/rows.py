"""One chunk's records parsed, mapped and validated: the pure half of the chunk phase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog_lib.core.errors import MalformedCsvError
from catalog_lib.rules.chunking import ChunkSpec
from catalog_lib.rules.mapping import map_row
from catalog_lib.rules.records import iter_records
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


def parse_chunk(body: bytes, *, header: bytes, spec: ChunkSpec) -> ParsedChunk:
    """Parse, map and validate the records of one chunk (pure: no IO)."""
    valid: list[ValidRow] = []
    invalid: list[InvalidRow] = []
    for ordinal, row in iter_records(body, header=header, first_record=spec.first_record):
        raw = map_row(row)
        errors = validate_item(raw)
        # What is stored never holds a character PostgreSQL refuses (`text.scrub`). Both the
        # raw and the scrubbed item are validated: a NUL in a SKU is an invalid character, and
        # a name of only NULs is an empty name.
        item = scrub(raw)
        if item != raw:
            seen = {(e.field, e.reason) for e in errors}
            errors += [e for e in validate_item(item) if (e.field, e.reason) not in seen]
        if errors:
            invalid.append(InvalidRow(ordinal, scrub([e.to_json() for e in errors]), item))
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
