"""Record-exact chunk planning: split CSV bytes at record terminators, never inside a record."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from catalog_lib.core.errors import (
    EmptyObjectError,
    HeaderTooLargeError,
    MalformedCsvError,
    SourceChangedError,
    UnsupportedEncodingError,
)

UTF8_BOM = b"\xef\xbb\xbf"
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

_QUOTE = 0x22
_LF = 0x0A
_COMMA = 0x2C


@dataclass(frozen=True)
class ChunkSpec:
    """One record-aligned byte range of a CSV object (``byte_end`` inclusive, like HTTP Range)."""

    index: int
    byte_start: int
    byte_end: int
    first_record: int
    record_count: int

    @property
    def length(self) -> int:
        """Number of bytes in the chunk."""
        return self.byte_end - self.byte_start + 1

    def label(self) -> str:
        """Human-readable name: ``chunk-3 [32.0–48.0 MiB]``; a chunk under 1 MiB in KiB."""
        unit, scale = ("MiB", MIB) if self.length >= MIB else ("KiB", 1024)
        start = self.byte_start / scale
        end = (self.byte_end + 1) / scale
        return f"chunk-{self.index} [{start:.1f}–{end:.1f} {unit}]"


@dataclass(frozen=True)
class ChunkPlan:
    """The header and the record-aligned chunks of one CSV object version."""

    size: int
    header: bytes
    has_bom: bool
    data_start: int
    chunks: tuple[ChunkSpec, ...]
    record_count: int


class _RecordScanner:
    r"""Finds record terminators in a CSV byte stream fed block by block.

    Quote tracking follows Python's csv reader (and RFC 4180): a ``"`` opens a quoted field
    only at the start of a field (after ``,``, after a record terminator, or right after the
    closing quote of the same field); elsewhere outside quotes it is a literal byte. Inside a
    quoted field every ``"`` closes it. The parity trick: an escaped ``""`` closes the field
    and the second quote, directly following the closing one, reopens it, so escapes need no
    look-ahead across blocks. ``0x22`` and ``0x0A`` never occur inside multi-byte UTF-8
    sequences, so scanning raw bytes gives exact offsets without decoding anything.

    A line made only of ``\\r`` bytes (including an empty line) is blank: Python's csv reader
    yields ``[]`` for it, and csv-parse's ``skip_empty_lines`` skips it.
    """

    def __init__(self) -> None:
        self.in_quotes = False
        self.open_at = -1
        self.last_close = -2
        self.prev_byte = _LF
        self.line_blank = True

    def scan(self, block: bytes, pos: int) -> list[tuple[int, bool]]:
        """Return ``(index in block, is_blank)`` for every record terminator in ``block``."""
        events: list[tuple[int, bool]] = []
        end = len(block)
        i = 0
        next_lf = -1
        next_quote = -1
        while i < end:
            if self.in_quotes:
                q = block.find(b'"', i)
                if q < 0:
                    break
                self.in_quotes = False
                self.last_close = pos + q
                i = q + 1
                continue
            if next_quote < i:
                next_quote = block.find(b'"', i)
                if next_quote < 0:
                    next_quote = end
            if next_lf < i:
                next_lf = block.find(b"\n", i)
                if next_lf < 0:
                    next_lf = end
            if next_lf < next_quote:
                if self.line_blank and next_lf > i:
                    self.line_blank = block.count(b"\r", i, next_lf) == next_lf - i
                events.append((next_lf, self.line_blank))
                self.line_blank = True
                i = next_lf + 1
            elif next_quote < end:
                q = next_quote
                prev = block[q - 1] if q > 0 else self.prev_byte
                self.line_blank = False
                if prev in (_COMMA, _LF):
                    self.in_quotes = True
                    self.open_at = pos + q
                elif pos + q - 1 == self.last_close:
                    self.in_quotes = True  # an escaped "" inside the field opened at open_at
                i = q + 1
            else:
                if self.line_blank:
                    self.line_blank = block.count(b"\r", i, end) == end - i
                break
        if end:
            self.prev_byte = block[-1]
        return events


@dataclass
class _PlanBuilder:
    """Mutable planning state; everything here is O(1) in the object size except the header."""

    size: int
    chunk_size: int
    max_header_columns: int = DEFAULT_MAX_HEADER_COLUMNS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    scanner: _RecordScanner = field(default_factory=_RecordScanner)
    header_start: int = 0
    header_buf: bytearray = field(default_factory=bytearray)
    header: bytes | None = None
    data_start: int = -1
    chunk_start: int = -1
    next_target: int = -1
    records_before: int = 0
    records_in_chunk: int = 0
    chunks: list[ChunkSpec] = field(default_factory=list)

    def feed(self, block: bytes, pos: int) -> None:
        for rel, is_blank in self.scanner.scan(block, pos):
            offset = pos + rel
            if self.header is None:
                self._on_header_line(block, pos, rel, is_blank)
            elif not is_blank:
                self.records_in_chunk += 1
                if offset >= self.next_target:
                    self._close_chunk(offset)
        if self.header is None:
            self.header_buf += block[max(0, self.header_start - pos) :]
            self._check_header_bytes(len(self.header_buf))

    def _check_header_bytes(self, length: int) -> None:
        # Checked per block, so a header without an end never makes the buffer grow further.
        if length > self.max_header_bytes:
            raise HeaderTooLargeError(
                "the CSV header is larger than the limit",
                header_bytes_at_least=length,
                limit_bytes=self.max_header_bytes,
            )

    def _on_header_line(self, block: bytes, pos: int, rel: int, is_blank: bool) -> None:
        if is_blank:
            # Leading blank lines are skipped, as csv-parse's skip_empty_lines does upstream.
            self.header_buf.clear()
            self.header_start = pos + rel + 1
            return
        self.header_buf += block[max(0, self.header_start - pos) : rel]
        self._start_data(pos + rel + 1)

    def _start_data(self, data_start: int) -> None:
        # A record's trailing \r bytes are part of its terminator (csv treats \r\r\n as one).
        header = bytes(self.header_buf).rstrip(b"\r")
        check_header(header, max_columns=self.max_header_columns, max_bytes=self.max_header_bytes)
        self.header = header
        self.header_buf = bytearray()
        self.data_start = data_start
        self.chunk_start = data_start
        self.next_target = data_start + self.chunk_size

    def _close_chunk(self, byte_end: int) -> None:
        self.chunks.append(
            ChunkSpec(
                index=len(self.chunks),
                byte_start=self.chunk_start,
                byte_end=byte_end,
                first_record=self.records_before + 1,
                record_count=self.records_in_chunk,
            )
        )
        self.records_before += self.records_in_chunk
        self.records_in_chunk = 0
        self.chunk_start = byte_end + 1
        # Several grid targets can fall inside one wide record: jump to the first one after it.
        steps = (byte_end - self.data_start) // self.chunk_size + 1
        self.next_target = self.data_start + steps * self.chunk_size

    def finish(self, has_bom: bool) -> ChunkPlan:
        if self.scanner.in_quotes:
            raise MalformedCsvError(
                "unterminated quoted field at end of object", byte_offset=self.scanner.open_at
            )
        pending_record = not self.scanner.line_blank
        if self.header is None:
            if not pending_record:
                raise MalformedCsvError("object has no header record", size=self.size)
            self._start_data(self.size)
            pending_record = False
        if pending_record:
            self.records_in_chunk += 1
        if self.chunk_start < self.size:
            if self.records_in_chunk:
                self._close_chunk(self.size - 1)
            elif self.chunks:
                # Only blank lines remain: fold them into the last chunk instead of an empty one.
                self.chunks[-1] = replace(self.chunks[-1], byte_end=self.size - 1)
        if self.header is None:  # unreachable: _start_data set it above
            raise MalformedCsvError("object has no header record", size=self.size)
        return ChunkPlan(
            size=self.size,
            header=self.header,
            has_bom=has_bom,
            data_start=self.data_start,
            chunks=tuple(self.chunks),
            record_count=self.records_before,
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


def _check_encoding(first_block: bytes) -> None:
    """Refuse a UTF-16 or UTF-32 byte-order mark before anything else is read."""
    for mark, encoding, spelled in _WIDE_BOMS:
        if first_block.startswith(mark):
            raise UnsupportedEncodingError(
                f"the object starts with a {encoding} byte-order mark; catalog files must be UTF-8",
                bom=spelled,
            )


def _iter_nonempty(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the stream's blocks, the first one holding at least as many bytes as a BOM."""
    head = bytearray()
    iterator = iter(blocks)
    for block in iterator:
        head += block
        if len(head) >= len(UTF8_BOM):
            break
    if head:
        yield bytes(head)
    for block in iterator:
        if block:
            yield block


def plan_chunks(
    blocks: Iterable[bytes],
    *,
    size: int,
    chunk_size: int,
    max_header_columns: int = DEFAULT_MAX_HEADER_COLUMNS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> ChunkPlan:
    """Plan record-aligned chunks of about ``chunk_size`` bytes by streaming the object once.

    Args:
        blocks: the object's bytes in order, in pieces of any size; consumed exactly once.
        size: the object's size from its HEAD.
        chunk_size: target chunk length in bytes; a chunk ends at the first record terminator
            at or after each grid offset ``data_start + k * chunk_size``.
        max_header_columns: refuse a header with more columns.
        max_header_bytes: refuse a header longer than this; checked while streaming, so an
            endless first line is never buffered beyond it (plus one block).

    Returns:
        The header (without BOM and terminator) and chunks covering ``[data_start, size - 1]``.

    Raises:
        EmptyObjectError: ``size`` is 0.
        SourceChangedError: the streamed length differs from ``size``.
        MalformedCsvError: an unterminated quoted field, or no header record at all.
        UnsupportedEncodingError: a UTF-16 byte-order mark, or NUL bytes in the header.
        HeaderTooLargeError: the header exceeds ``max_header_columns`` or ``max_header_bytes``.
    """
    if size == 0:
        raise EmptyObjectError("source object is empty (0 bytes), not a CSV file", size=0)
    if size < 0:
        raise ValueError(f"object size must not be negative, got {size}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive number of bytes, got {chunk_size}")
    builder = _PlanBuilder(
        size=size,
        chunk_size=chunk_size,
        max_header_columns=max_header_columns,
        max_header_bytes=max_header_bytes,
    )
    has_bom = False
    pos = 0
    for index, block in enumerate(_iter_nonempty(blocks)):
        if pos + len(block) > size:
            raise SourceChangedError(
                "object is longer than its planned size",
                expected_size=size,
                read_at_least=pos + len(block),
            )
        body = block
        if index == 0:
            _check_encoding(block)
        if index == 0 and block.startswith(UTF8_BOM):
            has_bom = True
            body = block[len(UTF8_BOM) :]
            builder.header_start = len(UTF8_BOM)
            pos = len(UTF8_BOM)
        builder.feed(body, pos)
        pos += len(body)
    if pos != size:
        raise SourceChangedError(
            "object is shorter than its planned size", expected_size=size, read_size=pos
        )
    return builder.finish(has_bom)
