"""The exact byte scanner: record terminators of a CSV byte stream, event by event."""

from __future__ import annotations

_LF = 0x0A
_COMMA = 0x2C


class RecordScanner:
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
