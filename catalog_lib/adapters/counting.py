"""Independent counts of logical CSV records in one object version (DuckDB and a stdlib check).

DuckDB semantics, measured on DuckDB 2.0 with the explicit dialect used here:

* Blank lines (``\\n`` or ``\\r\\n`` alone) are skipped and not counted, but only when more than
  one column is declared; a single-column schema counts them as NULL rows. We always declare
  at least the header width plus a margin, so blank lines are skipped for any file.
* A line of only commas, a whitespace-only line and a line holding ``""`` are records.
* A UTF-8 BOM is stripped; CRLF and LF are both accepted; a quoted newline stays in its record;
  a header-only file counts 0; a missing final newline still counts the last record.
* Ragged rows: fewer cells than declared need ``null_padding=true``, which the parallel
  scanner refuses together with quoted newlines, hence ``parallel=false``. More cells than
  declared fail under ``strict_mode=true``, so the declared width is the header width plus a
  margin, widened once before giving up with :class:`MalformedCsvError`.
* With ``null_padding=true, parallel=false`` an unterminated quote silently swallows the rest
  of the file, so the byte pass counts quote characters first and rejects an odd total.
* A blank line before the header would become DuckDB's header (``skip`` stays 0), and CR-only
  line endings split records where our planner does not: both are rejected, not miscounted.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import duckdb

from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import (
    EmptyObjectError,
    HeaderTooLargeError,
    MalformedCsvError,
    SourceChangedError,
)
from catalog_lib.rules.chunking import DEFAULT_MAX_HEADER_COLUMNS

logger = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
_HEADER_LIMIT = 4 * 1024 * 1024
_COLUMN_MARGIN = 32
_WIDE_COLUMNS = 4096
# DuckDB refuses records longer than max_line_size (default 2 MB) while the ingest parser
# accepts any record, so a 10 MB cell made reconcile fail a job whose rows were applied. The
# limit follows the object (DuckDB allocates by file, not by this number), up to a bound.
_DEFAULT_LINE_SIZE = 2_097_152
_MAX_LINE_SIZE = 256 * 1024 * 1024
_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")
_DIALECT = (
    "header=true, delim=',', quote='\"', escape='\"', skip=0, all_varchar=true, "
    "strict_mode=true, null_padding=true, parallel=false, auto_detect=false"
)


@dataclass(frozen=True)
class RecordCount:
    """Number of logical data records (header excluded) and how they were counted."""

    records: int
    method: str


def count_records(store: ObjectStore, version: ObjectVersion) -> RecordCount:
    """Count the logical CSV data records of one object version with DuckDB.

    Raises:
        SourceChangedError: the object's ETag or size differ from ``version``.
        EmptyObjectError: the object has zero bytes.
        MalformedCsvError: DuckDB cannot count the file faithfully.
    """
    _check_version(store, version)
    if version.size == 0:
        raise EmptyObjectError("object is empty", object_key=version.uri)
    if version.uri.startswith("file://"):
        _fs, path = store.filesystem(version.uri)
        scan = _scan(store.iter_bytes(version.uri, expected=version), version.uri, None)
        records = _duckdb_count(path, scan, version.uri)
    else:
        # One S3 read, pinned to the ETag by If-Match, feeds both the byte scan and DuckDB's
        # local copy; DuckDB then never reads through the network without a version check.
        with tempfile.TemporaryDirectory(prefix="catalog-etl-reconcile-") as tmp:
            local_path = os.path.join(tmp, "object.csv")
            with open(local_path, "wb") as sink:
                scan = _scan(store.iter_bytes(version.uri, expected=version), version.uri, sink)
            records = _duckdb_count(local_path, scan, version.uri)
    _check_version(store, version)
    logger.info(
        "reconcile.counted",
        extra={"object_key": version.uri, "records": records, "method": "duckdb"},
    )
    return RecordCount(records=records, method="duckdb")


def count_records_stdlib(blocks: Iterable[bytes]) -> int:
    """Count non-blank logical records after the header by tracking quote parity per line.

    Raises:
        MalformedCsvError: the bytes end inside a quoted field.
    """
    counter = _ParityCounter()
    carry = b""
    for block in blocks:
        if not block:
            continue
        lines = (carry + block).split(b"\n")
        carry = lines.pop()
        for line in lines:
            counter.feed_line(line)
    if carry:
        counter.feed_line(carry)
    if counter.in_quotes:
        raise MalformedCsvError("unterminated quoted field at end of object")
    return max(counter.records - 1, 0)


@dataclass
class _ParityCounter:
    """Splits lines into logical records: a record ends at a newline with even quote parity."""

    records: int = 0
    in_quotes: bool = False
    is_first_line: bool = True
    record_open: bool = False

    def feed_line(self, line: bytes) -> None:
        if self.is_first_line:
            line = line.removeprefix(_BOM)
            self.is_first_line = False
        if not self.in_quotes and not self.record_open:
            if line in (b"", b"\r"):
                return  # a blank line between records is not a record
            self.record_open = True
        # RFC 4180 escapes ("") add two quotes, so an odd count toggles the quoted state.
        if line.count(b'"') & 1:
            self.in_quotes = not self.in_quotes
        if not self.in_quotes:
            self.records += 1
            self.record_open = False


@dataclass
class _Scan:
    """What the byte pass learned before DuckDB runs."""

    header_fields: int = 0
    quote_count: int = 0
    has_lf: bool = False
    has_cr: bool = False
    leading_blank: bool = False
    header: bytearray = field(default_factory=bytearray)


def _scan(blocks: Iterator[bytes], uri: str, sink: object | None) -> _Scan:
    scan = _Scan()
    header_done = False
    for block in blocks:
        if sink is not None:
            sink.write(block)  # type: ignore[attr-defined]
        scan.quote_count += block.count(b'"')
        scan.has_lf = scan.has_lf or b"\n" in block
        scan.has_cr = scan.has_cr or b"\r" in block
        if not header_done:
            scan.header += block
            header_done = _header_complete(scan)
            if not header_done and len(scan.header) > _HEADER_LIMIT:
                header_done = True
    if not header_done:
        _header_complete(scan, at_end=True)
    if scan.quote_count & 1:
        raise MalformedCsvError("unterminated quoted field (odd number of quotes)", object_key=uri)
    if scan.leading_blank:
        raise MalformedCsvError("blank line before the header", object_key=uri)
    if scan.has_cr and not scan.has_lf:
        raise MalformedCsvError("CR-only line endings are not supported", object_key=uri)
    return scan


def _header_complete(scan: _Scan, *, at_end: bool = False) -> bool:
    """Find the first logical record in the buffered prefix and measure its width."""
    data = bytes(scan.header).removeprefix(_BOM)
    if data.startswith((b"\n", b"\r\n")):
        scan.leading_blank = True
        return True
    in_quotes = False
    fields = 1
    for byte in data:
        if byte == 0x22:
            in_quotes = not in_quotes
        elif byte == 0x2C and not in_quotes:
            fields += 1
        elif byte == 0x0A and not in_quotes:
            break
    else:
        if not at_end:
            return False
    scan.header_fields = fields
    scan.header = bytearray()
    return True


def _duckdb_count(path: str, scan: _Scan, uri: str) -> int:
    if scan.header_fields > DEFAULT_MAX_HEADER_COLUMNS:
        # DuckDB's column map is sized to the header: never let a hostile file size it.
        raise HeaderTooLargeError(
            "the CSV header has more columns than the limit",
            object_key=uri,
            columns=scan.header_fields,
            limit_columns=DEFAULT_MAX_HEADER_COLUMNS,
        )
    width = max(scan.header_fields, 1) + _COLUMN_MARGIN
    try:
        return _run_count(path, width)
    except duckdb.Error as first:
        logger.info(
            "reconcile.widening",
            extra={"object_key": uri, "columns": _WIDE_COLUMNS, "error_line": _error_line(first)},
        )
    try:
        # Rows wider than the header are legal for the ingest parser (extra cells ignored).
        return _run_count(path, _WIDE_COLUMNS)
    except duckdb.Error as exc:
        # DuckDB's own message quotes the offending row; only its line number leaves here.
        raise MalformedCsvError(
            "DuckDB could not count the CSV records", object_key=uri, line=_error_line(exc)
        ) from None


def _run_count(path: str, width: int) -> int:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    line_size = max(_DEFAULT_LINE_SIZE, min(os.path.getsize(path) + 1, _MAX_LINE_SIZE))
    con = duckdb.connect(":memory:")
    try:
        # One thread: a read race was measured with more; counting is I/O bound anyway.
        con.execute("SET threads=1")
        row = con.execute(
            f"SELECT count(*) FROM read_csv(?, {_DIALECT}, columns={columns}, "  # noqa: S608
            f"max_line_size={line_size})",
            [path],
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def _error_line(exc: BaseException) -> int | None:
    match = _LINE_RE.search(str(exc))
    return int(match.group(1)) if match else None


def _check_version(store: ObjectStore, version: ObjectVersion) -> None:
    current = store.head(version.uri)
    if (current.etag, current.size) != (version.etag, version.size):
        raise SourceChangedError(
            "object changed since the version to reconcile",
            object_key=version.uri,
            expected_etag=version.etag,
        )
