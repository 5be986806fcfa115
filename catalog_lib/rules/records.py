"""Parse one chunk's CSV bytes into raw rows keyed by header name, with file-level ordinals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from catalog_lib.core.errors import MalformedCsvError

PARSER_VERSION = "1"

_MAX_REASON = 120


class _CatalogDialect(csv.Dialect):
    """RFC 4180 as the scrapers write it: ``,`` delimiter, ``"`` quote, ``""`` escape."""

    delimiter = ","
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\n"
    quoting = csv.QUOTE_MINIMAL
    strict = True


def _lines(text: str) -> io.StringIO:
    # newline="\n" splits lines on LF only, so the reader agrees with the chunk planner: a bare
    # CR outside quotes is an error instead of a silent extra record, and CR / CRLF inside
    # quoted fields are kept verbatim. No single field can be longer than the text itself.
    if csv.field_size_limit() < len(text):
        csv.field_size_limit(len(text))
    return io.StringIO(text, newline="\n")


def _decode(data: bytes) -> str:
    # A bad byte becomes U+FFFD in its cell instead of failing the whole chunk; ASCII bytes
    # (quote, comma, LF) are never swallowed by a replacement, so record structure is kept.
    return data.decode("utf-8", errors="replace")


def parse_header(header: bytes) -> dict[str, int]:
    """Map each trimmed header name to its column index; a duplicate name's last column wins.

    Raises:
        MalformedCsvError: the bytes are not exactly one CSV record.
    """
    return {name.strip(): index for index, name in enumerate(header_cells(header))}


def header_cells(header: bytes) -> list[str]:
    """The header record's cells as written (untrimmed), in column order.

    Raises:
        MalformedCsvError: the bytes are not exactly one CSV record.
    """
    text = _decode(header).removeprefix("\ufeff")
    try:
        rows = [row for row in csv.reader(_lines(text), dialect=_CatalogDialect) if row]
    except csv.Error as exc:
        raise MalformedCsvError(
            "header record is not valid CSV", reason=str(exc)[:_MAX_REASON]
        ) from exc
    if len(rows) != 1:
        raise MalformedCsvError("header must be exactly one CSV record", records=len(rows))
    return rows[0]


def iter_records(
    body: bytes, *, header: bytes, first_record: int
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(file-level ordinal, {column name: cell})`` for each data record in a chunk.

    Blank lines are skipped and not numbered, matching the chunk planner's record counts.
    Cells missing from a short record are absent from its dict; extra cells are ignored.

    Args:
        body: the chunk's bytes, exactly a ``ChunkSpec`` range.
        header: ``ChunkPlan.header``.
        first_record: ``ChunkSpec.first_record``, the ordinal of the chunk's first record.

    Raises:
        MalformedCsvError: the csv module rejects the bytes (the message holds no row data).
    """
    columns = list(parse_header(header).items())
    reader = csv.reader(_lines(_decode(body)), dialect=_CatalogDialect)
    ordinal = first_record
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedCsvError(
                "chunk is not valid CSV",
                reason=str(exc)[:_MAX_REASON],
                chunk_line=reader.line_num,
                record_ordinal=ordinal,
            ) from exc
        if not row:
            continue
        width = len(row)
        yield ordinal, {name: row[index] for name, index in columns if index < width}
        ordinal += 1
