"""Checks of a CSV object's header record and encoding before anything is planned or parsed."""

from __future__ import annotations

import csv
import io

from catalog_lib.core.errors import HeaderTooLargeError, UnsupportedEncodingError

MIB = 1024 * 1024
# No real catalog comes near these (the scrapers write ~30 columns, a few hundred bytes); they
# bound the planner's header buffer and everything sized by the header downstream (the
# parser's column map, DuckDB's declared columns) against hostile or broken files.
DEFAULT_MAX_HEADER_COLUMNS = 1024
DEFAULT_MAX_HEADER_BYTES = MIB
# Byte-order marks of the UTF-16 and UTF-32 encodings, longest first (UTF-32 LE starts like
# UTF-16 LE).
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32", "FF FE 00 00"),
    (b"\x00\x00\xfe\xff", "UTF-32", "00 00 FE FF"),
    (b"\xff\xfe", "UTF-16", "FF FE"),
    (b"\xfe\xff", "UTF-16", "FE FF"),
)


def count_header_columns(header: bytes) -> int:
    """Number of fields in a header record (quote-aware; a malformed header counts as parsed)."""
    text = header.decode("utf-8", errors="replace")
    if csv.field_size_limit() < len(text):
        csv.field_size_limit(len(text))
    try:
        row = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return header.count(b",") + 1  # the parser rejects it later; bound it by its commas
    return len(row)


def check_header(header: bytes, *, max_columns: int, max_bytes: int) -> None:
    """Refuse a header that is not UTF-8 text or is wider than any real catalog.

    Raises:
        UnsupportedEncodingError: the header holds NUL bytes (UTF-16/UTF-32 text).
        HeaderTooLargeError: more than ``max_bytes`` bytes or ``max_columns`` columns.
    """
    if b"\x00" in header:
        raise UnsupportedEncodingError(
            "the CSV header contains NUL bytes: the file is UTF-16/UTF-32 or binary, "
            "but catalog files must be UTF-8 text",
            nul_bytes=header.count(b"\x00"),
        )
    if len(header) > max_bytes:
        raise HeaderTooLargeError(
            "the CSV header is larger than the limit",
            header_bytes=len(header),
            limit_bytes=max_bytes,
        )
    columns = count_header_columns(header)
    if columns > max_columns:
        raise HeaderTooLargeError(
            "the CSV header has more columns than the limit",
            columns=columns,
            limit_columns=max_columns,
        )


def check_encoding(first_block: bytes) -> None:
    """Refuse a UTF-16 or UTF-32 byte-order mark before anything else is read."""
    for mark, encoding, spelled in _WIDE_BOMS:
        if first_block.startswith(mark):
            raise UnsupportedEncodingError(
                f"the object starts with a {encoding} byte-order mark; catalog files must be UTF-8",
                bom=spelled,
            )
