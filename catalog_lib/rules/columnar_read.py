"""Read one chunk's CSV bytes into string columns with pyarrow, only where it agrees with `records`.

The row-wise reader (`records.iter_records`, Python's csv module: strict RFC 4180, lines split
on LF only, invalid UTF-8 replaced) is the reference. pyarrow's reader gives the same records
and cells for a body whose bytes are *plain*, which a few vectorised checks decide:

* no NUL byte and every CR directly followed by LF (a bare CR ends a record for pyarrow but is
  an error, or part of a record, for the csv module);
* no UTF-8 byte order mark at the start of the body (pyarrow skips one there; for the csv
  module it is text of the first cell — a chunk can start with one when a record does);
* every quote is where RFC 4180 puts one: with quotes numbered from 0, an even-numbered quote
  (one that opens a quoted field, or the second of a ``""`` pair) follows a comma, a LF, the
  start of the body or the quote before it; an odd-numbered quote (one that closes a quoted
  field, or the first of a ``""`` pair) is followed by a comma, a CR, a LF, the end of the
  body or the next quote; and the count is even. Then quote parity is exactly the quoted state
  of both parsers: no literal quote in an unquoted cell, no text after a closing quote, no
  unterminated field;
* pyarrow accepts the body: valid UTF-8 (both decoders then give the same text) and every
  record exactly as wide as the header (the csv module also takes short and long records);
* pyarrow's record count equals the planned count.

Anything else returns None and the caller parses the chunk row-wise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

_QUOTE: Final = 0x22
_COMMA: Final = 0x2C
_LF: Final = 0x0A
_CR: Final = 0x0D
_MIN_BLOCK: Final = 1 << 20
_UTF8_BOM: Final = b"\xef\xbb\xbf"


def _plain_quotes(data: npt.NDArray[np.uint8]) -> bool:
    """True when every quote opens, closes or escapes by RFC 4180 (see the module docstring)."""
    quotes = np.flatnonzero(data == _QUOTE)
    count = len(quotes)
    if count == 0:
        return True
    if count % 2:
        return False
    opening = quotes[0::2]
    if opening[0] == 0:  # the start of the body acts like a record start
        opening = opening[1:]
    before = data[opening - 1]
    if not ((before == _COMMA) | (before == _LF) | (before == _QUOTE)).all():
        return False
    closing = quotes[1::2]
    if closing[-1] == len(data) - 1:  # the end of the body acts like a record end
        closing = closing[:-1]
    after = data[closing + 1]
    return bool(((after == _COMMA) | (after == _LF) | (after == _CR) | (after == _QUOTE)).all())


def is_plain_body(body: bytes) -> bool:
    """True when pyarrow's CSV reader and the csv module must split ``body`` the same way."""
    if b"\x00" in body or body.startswith(_UTF8_BOM):
        return False
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return False
    return _plain_quotes(np.frombuffer(body, dtype=np.uint8))


def read_columns(
    body: bytes, *, width: int, columns: Mapping[str, int], record_count: int
) -> dict[str, pa.StringArray] | None:
    """The chunk's cells of ``columns`` (name → header index) as string arrays, or None.

    None when the body is not plain (`is_plain_body`), pyarrow rejects it (invalid UTF-8, a
    record of another width) or it holds another number of records than ``record_count``.
    """
    if not body or width == 0 or not is_plain_body(body):
        return None
    names = [str(index) for index in range(width)]
    wanted = sorted(set(columns.values()))
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(body),
            read_options=pa_csv.ReadOptions(
                column_names=names, use_threads=False, block_size=max(len(body) + 1, _MIN_BLOCK)
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=",",
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={names[index]: pa.string() for index in wanted},
                include_columns=[names[index] for index in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows != record_count:
        return None
    arrays = {
        names[index]: table.column(names[index]).combine_chunks()
        if table.num_rows
        else pa.array([], pa.string())
        for index in wanted
    }
    return {name: arrays[names[index]] for name, index in columns.items()}
