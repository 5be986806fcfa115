"""Record-exact chunk planning: split CSV bytes at record terminators, never inside a record.

``plan_chunks`` streams the object once: the header and anything before it go through the
exact byte scanner (``record_scanner``), every later block through the bit-parallel fast path
(``chunk_fast``), which hands a block it cannot judge back to the exact scanner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from catalog_lib.core.errors import (
    EmptyObjectError,
    HeaderTooLargeError,
    InvalidArgumentError,
    MalformedCsvError,
    SourceChangedError,
)
from catalog_lib.rules.bitscan import ByteClasses
from catalog_lib.rules.chunk_fast import FastBlock, PreparedBlock, prepare_block, scan_block_fast
from catalog_lib.rules.csv_header import (
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADER_COLUMNS,
    MIB,
    check_encoding,
    check_header,
)
from catalog_lib.rules.record_scanner import RecordScanner

UTF8_BOM = b"\xef\xbb\xbf"
# The header is found by the exact scanner in pieces this large, so a file's first block is not
# scanned byte-event by byte-event; the fast path takes over right after the header.
_HEADER_PIECE = 64 * 1024
# Blocks at least this large are classified one ahead on a worker thread (see _ReadAhead).
_READ_AHEAD_MIN = 256 * 1024


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


@dataclass
class _PlanBuilder:
    """Mutable planning state; everything here is O(1) in the object size except the header."""

    size: int
    chunk_size: int
    max_header_columns: int = DEFAULT_MAX_HEADER_COLUMNS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    scanner: RecordScanner = field(default_factory=RecordScanner)
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

    def feed(self, block: bytes, pos: int, prepared: Future[PreparedBlock] | None = None) -> None:
        """Scan the next block (``prepared``: its classification, made on another thread)."""
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
            ready = prepared.result() if prepared is not None else None
            if ready is None or ready.block is not block:
                ready = prepare_block(self.classes, block)
            found = scan_block_fast(self.scanner, ready, pos)
            if found is not None:
                self._count_fast(found, pos)
                return
            if len(block) > _HEADER_PIECE:
                # A literal quote somewhere: only the 64 KiB pieces holding one go byte by byte.
                for start in range(0, len(block), _HEADER_PIECE):
                    self.feed(block[start : start + _HEADER_PIECE], pos + start)
                return
        self._feed_exact(block, pos)

    def _count_fast(self, found: FastBlock, pos: int) -> None:
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


def _iter_nonempty(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the stream's blocks, the first one holding at least as many bytes as a BOM."""
    head = b""
    iterator = iter(blocks)
    for block in iterator:
        # The first block is passed on as it is when it is long enough (no 8 MiB copy).
        head = head + block if head else block
        if len(head) >= len(UTF8_BOM):
            break
    if head:
        yield head
    for block in iterator:
        if block:
            yield block


class _ReadAhead:
    """Classifies the next large block on a worker thread while the current one is scanned.

    numpy releases the GIL, so on two cores the classification of block k + 1 overlaps the
    scan of block k. It starts only once ``ready()`` (the header is known), only for blocks of
    at least ``_READ_AHEAD_MIN`` bytes, and holds one block more than a plain read.
    """

    def __init__(self, ready: Callable[[], bool]) -> None:
        self.ready = ready
        self.classes = ByteClasses()  # the worker's own scratch

    def blocks(
        self, blocks: Iterable[bytes]
    ) -> Iterator[tuple[bytes, Future[PreparedBlock] | None]]:
        """The blocks in order, each with its classification if one was started."""
        iterator = iter(blocks)
        pool: ThreadPoolExecutor | None = None
        try:
            current: bytes | None = next(iterator, None)
            future: Future[PreparedBlock] | None = None
            while current is not None:
                following: bytes | None = None
                following_future: Future[PreparedBlock] | None = None
                if len(current) >= _READ_AHEAD_MIN and self.ready():
                    # Once the header is known, scanning a block raises nothing (errors come
                    # at the end), so reading the next one first changes no error's order.
                    following = next(iterator, None)
                    if following is not None and len(following) >= _READ_AHEAD_MIN:
                        if pool is None:
                            pool = ThreadPoolExecutor(1, thread_name_prefix="plan-classify")
                        following_future = pool.submit(prepare_block, self.classes, following)
                    yield current, future
                else:
                    yield current, future
                    following = next(iterator, None)
                current, future = following, following_future
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


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
    ahead = _ReadAhead(lambda: builder.header is not None and builder.fast)
    for index, (block, prepared) in enumerate(ahead.blocks(_iter_nonempty(blocks))):
        if pos + len(block) > size:
            raise SourceChangedError(
                "object is longer than its planned size",
                expected_size=size,
                read_at_least=pos + len(block),
            )
        body = block
        if index == 0:
            check_encoding(block)
        if index == 0 and block.startswith(UTF8_BOM):
            has_bom = True
            body = block[len(UTF8_BOM) :]
            builder.header_start = len(UTF8_BOM)
            pos = len(UTF8_BOM)
        builder.feed(body, pos, prepared)
        pos += len(body)
    if pos != size:
        raise SourceChangedError(
            "object is shorter than its planned size", expected_size=size, read_size=pos
        )
    return builder.finish(has_bom)
