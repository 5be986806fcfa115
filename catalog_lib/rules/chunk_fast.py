"""The planner's fast path: a block's record terminators by quote parity, 64 bytes at a time.

Used by ``chunking.plan_chunks`` for every block after the header; a block the parity model
cannot express (a literal quote) is handed back to the exact ``RecordScanner``.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from catalog_lib.rules.bitscan import (
    ByteClasses,
    Words,
    bit_positions,
    last_bit,
    quoted_before,
    shift_in,
)
from catalog_lib.rules.record_scanner import RecordScanner

_QUOTE = 0x22
_LF = 0x0A
_CR = 0x0D
_COMMA = 0x2C


def _lowest_bit(word: int) -> int:
    return (word & -word).bit_length() - 1


class FastBlock:
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


@dataclass(frozen=True)
class PreparedBlock:
    """What the fast path needs of a block that does not depend on the state before it.

    ``inside``, ``ends_inside`` and ``terminators`` assume the block starts outside quotes;
    starting inside quotes flips the first two. Made on any thread (``prepare_block``, the
    planner's read-ahead worker), used by ``scan_block_fast`` on the planning thread.
    """

    block: bytes
    arr: npt.NDArray[np.uint8]
    quotes: Words
    lfs: Words
    commas: Words
    inside: Words
    ends_inside: bool
    terminators: Words  # LFs outside quotes by parity, for a block starting outside quotes


def prepare_block(classes: ByteClasses, block: bytes) -> PreparedBlock:
    """Classify ``block``'s quotes, LFs and commas and take its quote parity (no state)."""
    arr = classes.load(block)
    quotes, lfs, commas = classes.classify((_QUOTE, _LF, _COMMA))
    inside, ends_inside = quoted_before(quotes, in_quotes=False)
    terminators = np.bitwise_not(inside)
    np.bitwise_and(terminators, lfs, out=terminators)
    return PreparedBlock(block, arr, quotes, lfs, commas, inside, ends_inside, terminators)


def scan_block_fast(scanner: RecordScanner, prepared: PreparedBlock, pos: int) -> FastBlock | None:
    """Find the block's terminators from the scanner's state and advance the scanner.

    Returns None, the scanner untouched, when the block holds a literal quote the parity model
    cannot express; the caller then scans the block exactly.
    """
    block, arr = prepared.block, prepared.arr
    quotes, lfs, inside = prepared.quotes, prepared.lfs, prepared.inside
    starts_inside = scanner.in_quotes
    in_quotes = prepared.ends_inside ^ starts_inside
    escape = pos - 1 == scanner.last_close
    opening = quotes & inside if starts_inside else quotes & ~inside
    if opening.any():
        prev_ok = scanner.prev_byte in (_COMMA, _LF) or escape
        field_start = quotes | prepared.commas
        field_start |= lfs
        allowed = shift_in(field_start, 1, int(prev_ok))
        np.bitwise_not(allowed, out=allowed)
        np.bitwise_and(allowed, opening, out=allowed)
        if allowed.any():
            return None
    terminators = prepared.terminators
    if starts_inside:
        terminators = prepared.lfs ^ terminators  # the LFs inside quotes by parity
    blanks = _blank_terminators(scanner, block, arr, terminators)
    fast = FastBlock(terminators, blanks, len(block))
    # A quoted field is opened by its first quote, not by the reopening quote of a "" escape
    # (a quote right after a closing one); the scanner remembers the last field opened.
    last_open = _last_open(prepared.quotes, prepared.inside, starts_inside, int(escape))
    if last_open is not None:
        scanner.open_at = pos + last_open
    _advance(scanner, block, pos, fast, in_quotes)
    return fast


def _last_open(quotes: Words, inside: Words, flip: bool, escape: int) -> int | None:
    """Offset of the last quote opening a field by parity, not reopening one after a ``""``.

    The highest bit of ``opening & ~shift_in(quotes, 1, escape)``, where ``opening`` is the
    quotes outside quotes (``inside`` flipped when ``flip``); computed in growing windows from
    the block's end, since the answer nearly always lies in its last few words.
    """
    end, window = len(quotes), 64
    while end > 0:
        start = max(end - window, 0)
        part = quotes[start:end]
        opening = part & inside[start:end] if flip else part & ~inside[start:end]
        before = int(quotes[start - 1] >> np.uint64(63)) if start else escape
        opening &= ~shift_in(part, 1, before)
        found = last_bit(opening)
        if found is not None:
            return start * 64 + found
        end, window = start, window * 8
    return None


def _blank_terminators(
    scanner: RecordScanner,
    block: bytes,
    arr: npt.NDArray[np.uint8],
    terminators: Words,
) -> list[int]:
    """In-block offsets of terminators ending a line of only CR bytes (or nothing)."""
    # Only a terminator right after an LF, or after a CR that follows a CR or LF (or one whose
    # previous bytes lie before the block) can end a blank line; the others end a line holding
    # some other byte. The bytes before each terminator are gathered, not classified, and the
    # few candidates are checked byte by byte.
    ends = bit_positions(terminators)
    before = arr[np.maximum(ends - 1, 0)]
    two_before = arr[np.maximum(ends - 2, 0)]
    after_lf = (ends < 1) | (before == _LF)
    after_cr_run = ((ends < 1) | (before == _CR)) & (
        (ends < 2) | (two_before == _CR) | (two_before == _LF)
    )
    blanks: list[int] = []
    for at in ends[after_lf | after_cr_run].tolist():
        before_at = at - 1
        while before_at >= 0 and block[before_at] == _CR:
            before_at -= 1
        # Only CR bytes since the previous LF (a terminator: no quote lies between) or since
        # the block start (then the carried state decides).
        if (before_at < 0 and scanner.line_blank) or (before_at >= 0 and block[before_at] == _LF):
            blanks.append(at)
    return blanks


def _advance(
    scanner: RecordScanner, block: bytes, pos: int, fast: FastBlock, in_quotes: bool
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
