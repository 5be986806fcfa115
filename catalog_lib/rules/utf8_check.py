"""Streaming strict UTF-8 validation of a byte stream cut into blocks anywhere."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


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
