"""The stdlib cross-check counter: logical CSV records by quote parity per physical line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catalog_lib.core.errors import MalformedCsvError

_BOM = b"\xef\xbb\xbf"


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
