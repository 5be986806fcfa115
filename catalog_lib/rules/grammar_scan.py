r"""The grammar counter: one streaming pass over an object's raw bytes by the CSV grammar.

The record grammar is the one `docs/ingest.md` ("The CSV grammar") states and the chunk planner
and parser implement; this scan is written independently of the planner. Besides its count it
measures what the DuckDB counter (``catalog_lib/adapters/counting.py``) needs to know: widest
row, longest record, line endings, encoding, literal quotes. Blocks after the header are
scanned bit-parallel (``bitscan``); the header, and any 64 KiB piece the bit-parallel path
cannot judge, byte event by byte event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from catalog_lib.core.errors import MalformedCsvError
from catalog_lib.rules.bitscan import (
    ByteClasses,
    bit_positions,
    prefix_counts,
    quoted_before,
    shift_in,
)
from catalog_lib.rules.utf8_check import Utf8Check

_BOM = b"\xef\xbb\xbf"
_QUOTE = 0x22
_COMMA = 0x2C
_LF = 0x0A
_CR = 0x0D
_EVENT_RE = re.compile(rb'["\n]')
_PIECE = 64 * 1024


@dataclass
class GrammarScan:
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
        quotes, lfs, commas, crs = classes.classify((_QUOTE, _LF, _COMMA, _CR))
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
        after_cr = shift_in(crs, 1, 0)
        after_lf = shift_in(lfs, 1, 0) | (after_cr & shift_in(lfs, 2, 0))
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
            crlf = int(np.bitwise_count(terminators & after_cr).sum())
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


class GrammarStream:
    """Feeds an object's blocks to a ``GrammarScan``, stripping a UTF-8 BOM at the start.

    Blocks may be cut anywhere (even inside the BOM); ``finish`` returns the finished scan.
    """

    def __init__(self, *, fast: bool = True) -> None:
        self.scan = GrammarScan(fast=fast)
        self._first = True
        self._pending = b""

    def feed(self, block: bytes) -> None:
        """Scan the next block of the object."""
        if self._first:
            self._pending += block
            if len(self._pending) < len(_BOM):
                return
            self._first = False
            block, self._pending = self._pending, b""
            if block.startswith(_BOM):
                block = block[len(_BOM) :]
                self.scan.offset = len(_BOM)
                self.scan.record_start = len(_BOM)
        if block:
            self.scan.feed(block)

    def header_cells(self) -> int | None:
        """Cells of the header record once it has been scanned, else None."""
        return self.scan.header_cells if self.scan.records else None

    def finish(self, uri: str | None = None) -> GrammarScan:
        """End the object; raises MalformedCsvError as ``GrammarScan.finish`` does."""
        if self._first and self._pending:
            pending = self._pending
            self.scan.feed(pending.removeprefix(_BOM) if pending.startswith(_BOM) else pending)
        self.scan.finish(uri)
        return self.scan


def scan_blocks(blocks: Iterable[bytes], *, fast: bool = True) -> GrammarScan:
    """Scan a whole object by the grammar (BOM stripped); raises MalformedCsvError."""
    stream = GrammarStream(fast=fast)
    for block in blocks:
        stream.feed(block)
    return stream.finish()


def count_records_grammar(blocks: Iterable[bytes]) -> int:
    """Count the data records of a whole object by the documented grammar (no DuckDB).

    Raises:
        MalformedCsvError: the bytes end inside a quoted field or hold no header record.
    """
    return scan_blocks(blocks).data_records()
