"""Record-exact chunk planning: split CSV bytes at record terminators, never inside a record."""

from __future__ import annotations

import csv
import io
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from catalog_lib.core.errors import (
    EmptyObjectError,
    HeaderTooLargeError,
    InvalidArgumentError,
    MalformedCsvError,
    SourceChangedError,
    UnsupportedEncodingError,
)
from catalog_lib.rules.bitscan import (
    ByteClasses,
    Words,
    last_bit,
    quoted_before,
    shift_in,
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
_CR = 0x0D
_COMMA = 0x2C
# The header is found by the exact scanner in pieces this large, so a file's first block is not
# scanned byte-event by byte-event; the fast path takes over right after the header.
_HEADER_PIECE = 64 * 1024


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


def _lowest_bit(word: int) -> int:
    return (word & -word).bit_length() - 1


class _FastBlock:
    """Record terminators of one block, found with bitwise arithmetic over the whole block.

    Under the scanner's grammar a ``"`` outside quotes is a literal byte unless it starts a
    field; inside quotes every ``"`` toggles. When every quote that the parity model would call
    "opening" really starts a field (follows ``,``, LF, or a closing quote), the quoted state at
    every byte is simply the parity of the quotes before it — a prefix XOR, computed 64 bytes
    at a time. A block where that does not hold is handed back to the exact scanner
    (``scan_block`` returns None), so the result is always the exact scanner's.
    """

    def __init__(self, terminators: Words, blanks: list[int], length: int) -> None:
        self.terminators = terminators
        self.blanks = blanks  # sorted in-block offsets of blank-line terminators
        self.length = length

    def count(self, start: int, end: int) -> int:
        """Non-blank record terminators at in-block offsets ``[start, end)``."""
        if end <= start:
            return 0
        total = self._prefix(end) - self._prefix(start)
        return total - (bisect_left(self.blanks, end) - bisect_left(self.blanks, start))

    def _prefix(self, end: int) -> int:
        word, bit = divmod(end, 64)
        total = int(np.bitwise_count(self.terminators[:word]).sum(dtype=np.int64))
        if bit:
            total += (int(self.terminators[word]) & ((1 << bit) - 1)).bit_count()
        return total

    def first_record_end(self, start: int) -> int | None:
        """In-block offset of the first non-blank terminator at or after ``start``, or None."""
        blanks = set(self.blanks[bisect_left(self.blanks, start) :])
        at = start
        while at < self.length:
            found = self._next_terminator(at)
            if found is None:
                return None
            if found not in blanks:
                return found
            at = found + 1
        return None

    def last_terminator(self) -> int | None:
        """In-block offset of the last terminator (blank or not), or None."""
        return last_bit(self.terminators)

    def _next_terminator(self, at: int) -> int | None:
        words = self.terminators
        word, bit = divmod(at, 64)
        current = int(words[word]) >> bit << bit
        if current:
            return word * 64 + _lowest_bit(current)
        for probe in range(word + 1, min(word + 9, len(words))):
            if words[probe]:
                return probe * 64 + _lowest_bit(int(words[probe]))
        rest = np.flatnonzero(words[word + 9 :])
        if not len(rest):
            return None
        probe = word + 9 + int(rest[0])
        return probe * 64 + _lowest_bit(int(words[probe]))


def _scan_block_fast(
    scanner: _RecordScanner, classes: ByteClasses, block: bytes, pos: int
) -> _FastBlock | None:
    """Find ``block``'s terminators from the scanner's state and advance the scanner.

    Returns None, the scanner untouched, when the block holds a literal quote the parity model
    cannot express; the caller then scans the block exactly.
    """
    classes.load(block)
    quotes = classes.words(_QUOTE)
    lfs = classes.words(_LF)
    inside_before, in_quotes = quoted_before(quotes, in_quotes=scanner.in_quotes)
    opening = quotes & ~inside_before
    if opening.any():
        prev_ok = scanner.prev_byte in (_COMMA, _LF) or pos - 1 == scanner.last_close
        field_start = quotes | lfs | classes.words(_COMMA)
        allowed = shift_in(field_start, 1, int(prev_ok))
        if (opening & ~allowed).any():
            return None
    terminators = lfs & ~inside_before
    # Without any CR only an LF right after another can end a blank line.
    crs = classes.words(_CR) if b"\r" in block else np.zeros_like(lfs)
    blanks = _blank_terminators(scanner, block, crs, lfs, terminators)
    fast = _FastBlock(terminators, blanks, len(block))
    # A quoted field is opened by its first quote, not by the reopening quote of a "" escape
    # (a quote right after a closing one); the scanner remembers the last field opened.
    escape = int(pos - 1 == scanner.last_close)
    last_open = last_bit(opening & ~shift_in(quotes, 1, escape))
    if last_open is not None:
        scanner.open_at = pos + last_open
    _advance(scanner, block, pos, fast, in_quotes)
    return fast


def _blank_terminators(
    scanner: _RecordScanner,
    block: bytes,
    crs: Words,
    lfs: Words,
    terminators: Words,
) -> list[int]:
    """In-block offsets of terminators ending a line of only CR bytes (or nothing)."""
    # Only a terminator right after an LF, or after a CR that follows a CR or LF (or one whose
    # previous bytes lie before the block) can end a blank line; the others end a line holding
    # some other byte. The few candidates are checked byte by byte.
    after_cr_run = shift_in(crs, 1, 0b1) & shift_in(crs | lfs, 2, 0b11)
    candidates = terminators & (shift_in(lfs, 1, 0b1) | after_cr_run)
    blanks: list[int] = []
    for word in np.flatnonzero(candidates).tolist():
        bits = int(candidates[word])
        while bits:
            low = _lowest_bit(bits)
            bits &= bits - 1
            at = word * 64 + low
            before = at - 1
            while before >= 0 and block[before] == _CR:
                before -= 1
            # Only CR bytes since the previous LF (a terminator: no quote lies between) or since
            # the block start (then the carried state decides).
            if (before < 0 and scanner.line_blank) or (before >= 0 and block[before] == _LF):
                blanks.append(at)
    return blanks


def _advance(
    scanner: _RecordScanner, block: bytes, pos: int, fast: _FastBlock, in_quotes: bool
) -> None:
    """Leave the scanner in the state the exact scan of ``block`` would have left it."""
    last_quote = block.rfind(b'"')
    if last_quote >= 0:
        if in_quotes:
            previous = block.rfind(b'"', 0, last_quote)
            if previous >= 0:
                scanner.last_close = pos + previous
        else:
            scanner.last_close = pos + last_quote
    scanner.in_quotes = in_quotes
    last = fast.last_terminator()
    tail = block if last is None else block[last + 1 :]
    if in_quotes or tail.count(b"\r") != len(tail):
        scanner.line_blank = False
    elif last is not None:
        scanner.line_blank = True
    scanner.prev_byte = block[-1]


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

    fast: bool = True
    classes: ByteClasses = field(default_factory=ByteClasses)

    def feed(self, block: bytes, pos: int) -> None:
        if self.header is None and self.fast:
            start = 0
            while self.header is None and start < len(block):
                piece = block[start : start + _HEADER_PIECE]
                self._feed_exact(piece, pos + start)
                start += len(piece)
            if start >= len(block):
                return
            block, pos = block[start:], pos + start
        if self.header is not None and self.fast:
            found = _scan_block_fast(self.scanner, self.classes, block, pos)
            if found is not None:
                self._count_fast(found, pos)
                return
            if len(block) > _HEADER_PIECE:
                # A literal quote somewhere: only the 64 KiB pieces holding one go byte by byte.
                for start in range(0, len(block), _HEADER_PIECE):
                    self.feed(block[start : start + _HEADER_PIECE], pos + start)
                return
        self._feed_exact(block, pos)

    def _count_fast(self, found: _FastBlock, pos: int) -> None:
        start = 0
        while True:
            end = found.first_record_end(max(self.next_target - pos, start))
            if end is None:
                break
            self.records_in_chunk += found.count(start, end + 1)
            self._close_chunk(pos + end)
            start = end + 1
        self.records_in_chunk += found.count(start, found.length)

    def _feed_exact(self, block: bytes, pos: int) -> None:
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
    fast: bool = True,
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
        fast: scan blocks 64 bytes at a time by quote parity where that is exact (the default);
            False uses only the byte-event scanner, the reference the fast path is tested
            against. Both give the same plan for every input.

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
        raise InvalidArgumentError(f"object size must not be negative, got {size}")
    if chunk_size <= 0:
        raise InvalidArgumentError(
            f"chunk_size must be a positive number of bytes, got {chunk_size}"
        )
    builder = _PlanBuilder(
        size=size,
        chunk_size=chunk_size,
        max_header_columns=max_header_columns,
        max_header_bytes=max_header_bytes,
        fast=fast,
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
