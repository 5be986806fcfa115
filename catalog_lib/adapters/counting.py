r"""Independent counts of the logical CSV records of one object version (DuckDB, grammar).

The record grammar is the one `docs/ingest.md` ("The CSV grammar") states and the chunk planner
and parser implement. Two counters verify a job:

* **grammar** — one streaming pass over the raw bytes by that grammar, written independently
  of the planner (``_GrammarScan``). It always runs: besides its count it measures what DuckDB
  needs to know (widest row, longest record, line endings, encoding, literal quotes).
* **duckdb** — DuckDB's CSV reader with an explicit dialect, used when the file stays inside
  what DuckDB reads the same way: valid UTF-8, one line-ending style (all LF or all CRLF), no
  literal ``"`` inside an unquoted field, nothing between a closing quote and the next
  delimiter, no blank line before the header, at most ``DUCKDB_MAX_COLUMNS`` cells per row.
  ``max_line_size`` is set from the longest record, and the declared width is the widest row
  (DuckDB pads shorter rows with NULL, hence ``null_padding=true, parallel=false``).

Where DuckDB cannot read a file faithfully, or fails, the grammar count is the verified one
and ``RecordCount.note`` says why; ``RecordCount.method`` names the counter. Measured DuckDB
semantics (2.0, this dialect): blank lines (``\n`` or ``\r\n`` alone) are skipped when more than
one column is declared (we declare at least two); a BOM is stripped; quoted newlines stay in
their record; a header-only file counts 0.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from catalog_lib.adapters.queries import load_query
from catalog_lib.adapters.storage import ObjectStore, ObjectVersion
from catalog_lib.core.errors import (
    EmptyObjectError,
    HeaderTooLargeError,
    MalformedCsvError,
    SourceChangedError,
)
from catalog_lib.rules.bitscan import (
    ByteClasses,
    bit_positions,
    prefix_counts,
    quoted_before,
    shift_in,
)
from catalog_lib.rules.chunking import DEFAULT_MAX_HEADER_COLUMNS

logger = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
DUCKDB_MAX_COLUMNS = 16_384
_DEFAULT_MAX_LINE = 2 * 1024 * 1024
_QUOTE = 0x22
_COMMA = 0x2C
_LF = 0x0A
_CR = 0x0D
_EVENT_RE = re.compile(rb'["\n]')
_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")
_PIECE = 64 * 1024


@dataclass(frozen=True)
class RecordCount:
    """Number of logical data records (header excluded), the counter, and why that one."""

    records: int
    method: str
    note: str | None = None


def count_records(store: ObjectStore, version: ObjectVersion) -> RecordCount:
    """Count the logical CSV data records of one object version (DuckDB, else the grammar).

    Raises:
        SourceChangedError: the object's ETag or size differ from ``version``.
        EmptyObjectError: the object has zero bytes.
        MalformedCsvError: the bytes end inside a quoted field or hold no header record.
    """
    _check_version(store, version)
    if version.size == 0:
        raise EmptyObjectError("object is empty", object_key=version.uri)
    if version.uri.startswith("file://"):
        _fs, path = store.filesystem(version.uri)
        scan = _scan(store.iter_bytes(version.uri, expected=version), None)
        result = _verified_count(path, scan, version.uri)
    else:
        # One S3 read, pinned to the ETag by If-Match, feeds both the byte scan and DuckDB's
        # local copy; DuckDB then never reads through the network without a version check.
        with tempfile.TemporaryDirectory(prefix="catalog-etl-reconcile-") as tmp:
            local_path = os.path.join(tmp, "object.csv")
            with open(local_path, "wb") as sink:
                scan = _scan(store.iter_bytes(version.uri, expected=version), sink)
            result = _verified_count(local_path, scan, version.uri)
    _check_version(store, version)
    logger.info(
        "reconcile.counted",
        extra={"object_key": version.uri, "records": result.records, "method": result.method},
    )
    return result


def count_records_grammar(blocks: Iterable[bytes]) -> int:
    """Count the data records of a whole object by the documented grammar (no DuckDB).

    Raises:
        MalformedCsvError: the bytes end inside a quoted field or hold no header record.
    """
    return _scan(iter(blocks), None).data_records()


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


class Utf8Check:
    """Streaming strict UTF-8 validation (Arrow's vectorised validator, not a decode).

    A multi-byte sequence cut by a block boundary is carried to the next block, so blocks may
    be split anywhere, as with an incremental decoder.
    """

    def __init__(self) -> None:
        self.tail = b""

    def feed(self, block: bytes) -> None:
        """Validate ``block``'s complete sequences; raises UnicodeDecodeError if one is invalid."""
        data = self.tail + block if self.tail else block
        cut = len(data)
        for back in range(1, min(4, len(data)) + 1):
            byte = data[-back]
            if byte < 0x80:
                break
            if byte >= 0xC0:  # a lead byte: keep its sequence if it is not complete yet
                needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
                if needed > back:
                    cut = len(data) - back
                break
        self.tail = bytes(data[cut:])
        if cut and not (cut == len(data) and data.isascii()):
            _validate_utf8(memoryview(data)[:cut])

    def finish(self) -> None:
        """Refuse a sequence left incomplete at the end."""
        if self.tail:
            raise UnicodeDecodeError("utf-8", self.tail, 0, len(self.tail), "incomplete")


def _validate_utf8(data: memoryview) -> None:
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    array = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid as exc:
        raise UnicodeDecodeError("utf-8", b"", 0, 1, "invalid UTF-8") from exc


@dataclass
class _GrammarScan:
    r"""The grammar counter's state: one pass over raw bytes, block by block.

    A ``"`` opens a quoted field only at the start of a field (after ``,``, after a record
    terminator, or at the start of the data); inside quotes every ``"`` closes the field and a
    ``"`` directly after a closing one reopens it (the ``""`` escape). A record ends at an LF
    outside quotes; ``\r`` bytes before it belong to the terminator. A record of only ``\r``
    bytes (or nothing) is blank and not counted; the first non-blank record is the header.
    """

    offset: int = 0
    records: int = 0
    in_quotes: bool = False
    quote_opened_at: int = -1
    last_close: int = -2
    prev: int = _LF
    blank: bool = True
    cells: int = 1
    trailing_cr: int = 0
    record_start: int = 0
    header_cells: int = 0
    max_cells: int = 0
    max_record: int = 0
    lf_endings: bool = False
    crlf_endings: bool = False
    odd_endings: bool = False
    leading_blank: bool = False
    literal_quotes: bool = False
    has_nul: bool = False
    invalid_utf8: bool = False
    utf8: Utf8Check = field(default_factory=lambda: Utf8Check())
    fast: bool = True
    classes: ByteClasses = field(default_factory=ByteClasses)

    def feed(self, block: bytes) -> None:
        """Scan one block; ``self.offset`` is the absolute offset of its first byte."""
        if not self.invalid_utf8:
            try:
                self.utf8.feed(block)
            except UnicodeDecodeError:
                self.invalid_utf8 = True
        self.has_nul = self.has_nul or b"\x00" in block
        self._feed_body(block)

    def _feed_body(self, block: bytes) -> None:
        if not self.fast:
            self._feed_events(block)
            return
        if self.records and not self.trailing_cr and self._feed_fast(block):
            self.offset += len(block)
            return
        if len(block) > _PIECE:
            # The header, or a block the fast path cannot take: only the pieces that need it
            # are scanned event by event.
            for start in range(0, len(block), _PIECE):
                self._feed_body(block[start : start + _PIECE])
            return
        self._feed_events(block)

    def _feed_fast(self, block: bytes) -> bool:
        """Scan a block after the header bit-parallel; False (state untouched) if it cannot.

        It cannot when the block holds what the event scan must judge byte by byte: a literal
        quote, text after a closing quote, a CR that is not directly followed by an LF, a
        blank line. Otherwise the quoted state is the quote parity and every statistic is a
        count or a maximum over the block's record terminators.
        """
        classes = self.classes
        classes.load(block)
        quotes, lfs = classes.words(_QUOTE), classes.words(_LF)
        commas, crs = classes.words(_COMMA), classes.words(_CR)
        inside, in_quotes = quoted_before(quotes, in_quotes=self.in_quotes)
        opening, closing = quotes & ~inside, quotes & inside
        base = self.offset
        field_start = self.prev in (_COMMA, _LF) or base - 1 == self.last_close
        if (opening & ~shift_in(quotes | lfs | commas, 1, int(field_start))).any():
            return False
        after_close = self.prev == _QUOTE and self.last_close == base - 1 and not self.in_quotes
        if after_close and block[0] not in (_COMMA, _CR, _LF, _QUOTE):
            return False
        if (shift_in(closing, 1, 0) & ~(commas | crs | lfs | quotes)).any():
            return False
        next_is_lf = lfs >> np.uint64(1)
        next_is_lf[:-1] |= lfs[1:] << np.uint64(63)
        if (crs & ~inside & ~next_is_lf).any():
            return False
        terminators = lfs & ~inside
        after_lf = shift_in(lfs, 1, 0) | (shift_in(crs, 1, 0) & shift_in(lfs, 2, 0))
        if (terminators & after_lf).any():
            return False  # a blank line
        ends = bit_positions(terminators)
        if len(ends) and self.blank and (ends[0] == 0 or (ends[0] == 1 and block[0] == _CR)):
            return False  # a blank line begun in the previous block
        unquoted_commas = commas & ~inside
        if len(ends):
            before = prefix_counts(unquoted_commas, ends)
            cells = [self.cells + int(before[0])]
            lengths = [int(ends[0]) + base - self.record_start + 1]
            if len(ends) > 1:
                cells.append(int(np.diff(before).max()) + 1)
                lengths.append(int(np.diff(ends).max()))
            self.max_cells = max(self.max_cells, *cells)
            self.max_record = max(self.max_record, *lengths)
            crlf = int(np.bitwise_count(terminators & shift_in(crs, 1, 0)).sum())
            self.crlf_endings = self.crlf_endings or crlf > 0
            self.lf_endings = self.lf_endings or crlf < len(ends)
            self.records += len(ends)
            last = int(ends[-1])
            self.record_start = base + last + 1
            total = int(np.bitwise_count(unquoted_commas).sum())
            self.cells = 1 + total - int(prefix_counts(unquoted_commas, ends[-1:] + 1)[0])
            self.blank = not in_quotes and last == len(block) - 1
        else:
            self.cells += int(np.bitwise_count(unquoted_commas).sum())
            self.blank = False
        # Quotes alternate opening and closing: the last one is an opening quote exactly when
        # the block ends inside quotes, and the one before it is of the other kind.
        last_quote = block.rfind(b'"')
        if last_quote >= 0:
            previous = block.rfind(b'"', 0, last_quote)
            last_open, last_close = (last_quote, previous) if in_quotes else (previous, last_quote)
            if last_open >= 0:
                self.quote_opened_at = base + last_open
            if last_close >= 0:
                self.last_close = base + last_close
        self.in_quotes = in_quotes
        self.prev = _QUOTE if in_quotes else block[-1]
        return True

    def _feed_events(self, block: bytes) -> None:
        """Scan one block event by event (quote or LF), the reference the fast path follows."""
        i, end, base = 0, len(block), self.offset
        while i < end:
            if self.in_quotes:
                q = block.find(b'"', i)
                if q < 0:
                    i = end
                    break
                self.in_quotes = False
                self.last_close = base + q
                self.prev = _QUOTE
                i = q + 1
                continue
            match = _EVENT_RE.search(block, i)
            j = match.start() if match else end
            if j > i:
                self._plain(block, i, j)
            if match is None:
                break
            if block[j] == _LF:
                self._terminate(base + j)
            else:
                self._quote(base + j)
            i = j + 1
        self.offset += end

    def _plain(self, block: bytes, i: int, j: int) -> None:
        """Unquoted bytes ``block[i:j]`` without quote or LF."""
        after_close = self.prev == _QUOTE and self.last_close == self.offset + i - 1
        if after_close and block[i] not in (_COMMA, _CR):
            self.literal_quotes = True  # text between a closing quote and the delimiter
        self.cells += block.count(b",", i, j)
        stripped = len(block[i:j].rstrip(b"\r"))
        if stripped:
            self.blank = False
            if block.find(b"\r", i, i + stripped) >= 0:
                self.odd_endings = True  # a CR inside a line
            self.trailing_cr = j - i - stripped
        else:
            self.trailing_cr += j - i
        self.prev = block[j - 1]

    def _quote(self, at: int) -> None:
        self.blank = False
        if self.prev in (_COMMA, _LF) or at - 1 == self.last_close:
            self.in_quotes = True
            self.quote_opened_at = at
        else:
            self.literal_quotes = True
        self.trailing_cr = 0
        self.prev = _QUOTE

    def _terminate(self, at: int) -> None:
        """An LF outside quotes at absolute offset ``at``."""
        if self.trailing_cr == 0:
            self.lf_endings = True
        elif self.trailing_cr == 1:
            self.crlf_endings = True
        else:
            self.odd_endings = True
        if self.blank:
            if self.records == 0:
                self.leading_blank = True
        else:
            self._count_record(at)
        self.blank, self.cells, self.trailing_cr = True, 1, 0
        self.record_start = at + 1
        self.prev = _LF

    def _count_record(self, end: int) -> None:
        if self.records == 0:
            self.header_cells = self.cells
        self.records += 1
        self.max_cells = max(self.max_cells, self.cells)
        self.max_record = max(self.max_record, end - self.record_start + 1)

    def finish(self, uri: str | None = None) -> None:
        """Count a last record without a terminator; refuse an unterminated quoted field."""
        if self.in_quotes:
            raise MalformedCsvError(
                "unterminated quoted field at end of object",
                object_key=uri,
                byte_offset=self.quote_opened_at,
            )
        if not self.invalid_utf8:
            try:
                self.utf8.finish()
            except UnicodeDecodeError:
                self.invalid_utf8 = True
        if not self.blank:
            self._count_record(self.offset)
        if self.records == 0:
            raise MalformedCsvError("object has no header record", object_key=uri)

    def data_records(self) -> int:
        """Records after the header."""
        return self.records - 1

    def duckdb_refusal(self) -> str | None:
        """Why DuckDB would not read this file the grammar's way, or None."""
        reasons = (
            (self.invalid_utf8, "invalid UTF-8"),
            (self.has_nul, "NUL bytes"),
            (self.literal_quotes, "a literal quote inside an unquoted field"),
            (self.leading_blank, "a blank line before the header"),
            (self.odd_endings, "CR bytes that are not part of a CRLF"),
            (self.lf_endings and self.crlf_endings, "mixed LF and CRLF line endings"),
            (self.max_cells > DUCKDB_MAX_COLUMNS, f"rows wider than {DUCKDB_MAX_COLUMNS} cells"),
        )
        return next((why for flagged, why in reasons if flagged), None)


def _scan(blocks: Iterator[bytes], sink: object | None, *, fast: bool = True) -> _GrammarScan:
    scan = _GrammarScan(fast=fast)
    first = True
    pending = b""
    for block in blocks:
        if sink is not None:
            sink.write(block)  # type: ignore[attr-defined]
        if first:
            pending += block
            if len(pending) < len(_BOM):
                continue
            first = False
            block = pending
            if block.startswith(_BOM):
                block = block[len(_BOM) :]
                scan.offset = len(_BOM)
                scan.record_start = len(_BOM)
        if block:
            scan.feed(block)
    if first and pending:
        scan.feed(pending.removeprefix(_BOM) if pending.startswith(_BOM) else pending)
    scan.finish()
    return scan


def _verified_count(path: str, scan: _GrammarScan, uri: str) -> RecordCount:
    """DuckDB's count when it can read the file the grammar's way, else the grammar's."""
    if scan.header_cells > DEFAULT_MAX_HEADER_COLUMNS:
        # The same limit the planner enforces: an absurd header is refused, never counted.
        raise HeaderTooLargeError(
            "the CSV header has more columns than the limit",
            object_key=uri,
            columns=scan.header_cells,
            limit_columns=DEFAULT_MAX_HEADER_COLUMNS,
        )
    grammar = scan.data_records()
    refusal = scan.duckdb_refusal()
    if refusal is not None:
        return RecordCount(grammar, "grammar", f"DuckDB not used: {refusal}")
    width = max(scan.max_cells, 2)
    max_line = max(_DEFAULT_MAX_LINE, scan.max_record + 1024)
    try:
        counted = _run_count(path, width, max_line)
    except duckdb.Error as exc:
        # DuckDB's own message quotes the offending row; only its line number leaves here.
        line = _error_line(exc)
        logger.warning(
            "reconcile.duckdb_failed",
            extra={"object_key": uri, "error_line": line, "method": "grammar"},
        )
        return RecordCount(grammar, "grammar", f"DuckDB failed (line {line})")
    if counted != grammar:
        return RecordCount(counted, "duckdb", f"the grammar counter counted {grammar}")
    return RecordCount(counted, "duckdb")


def _run_count(path: str, width: int, max_line: int) -> int:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    # One thread: a read race was measured with more; counting is I/O bound anyway.
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        row = con.execute(
            load_query("count_csv_records").format(
                columns=columns, max_line=int(max_line), buffer=int(max(max_line * 2, 1 << 24))
            ),
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
