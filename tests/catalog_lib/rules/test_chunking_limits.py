"""The planner refuses absurd headers and non-UTF-8 encodings early, with bounded memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from catalog_lib.core.errors import HeaderTooLargeError, UnsupportedEncodingError
from catalog_lib.rules.chunking import MIB, plan_chunks
from catalog_lib.rules.csv_header import (
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADER_COLUMNS,
    check_header,
    count_header_columns,
)

BLOCK = 64 * 1024


class CountingStream:
    """Yields a generated object block by block and remembers how much was read."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        buffer = bytearray()
        for piece in self._pieces:
            buffer += piece
            while len(buffer) >= BLOCK:
                block = bytes(buffer[:BLOCK])
                del buffer[:BLOCK]
                self.read += len(block)
                yield block
        if buffer:
            self.read += len(buffer)
            yield bytes(buffer)


def wide_file(columns: int, rows: int = 2) -> Iterator[bytes]:
    """A CSV with `columns` header names `c0,c1,...` and a few short rows, generated lazily."""
    for i in range(columns):
        yield (b"c%d" % i) + (b"," if i < columns - 1 else b"\n")
    for _ in range(rows):
        yield b"x," * (columns - 1) + b"x\n"


def wide_size(columns: int, rows: int = 2) -> int:
    return sum(len(p) for p in wide_file(columns, rows))


@pytest.mark.slow
def test_600k_columns_fail_early_with_bounded_memory() -> None:
    columns = 600_000
    size = wide_size(columns)
    assert size > 5 * MIB
    stream = CountingStream(wide_file(columns))
    tracemalloc.start()
    try:
        with pytest.raises(HeaderTooLargeError) as excinfo:
            plan_chunks(stream, size=size, chunk_size=16 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert excinfo.value.kind == "header_too_large"
    assert "larger than the limit" in str(excinfo.value)
    # Reading stopped right after the header limit: the rest of the object was never read.
    assert stream.read <= DEFAULT_MAX_HEADER_BYTES + BLOCK
    assert peak < 8 * MIB


def test_more_columns_than_the_limit_fail_even_in_a_short_header() -> None:
    columns = DEFAULT_MAX_HEADER_COLUMNS + 1
    data = b"".join(wide_file(columns))
    assert data.index(b"\n") < DEFAULT_MAX_HEADER_BYTES
    with pytest.raises(HeaderTooLargeError, match="more columns than the limit") as excinfo:
        plan_chunks([data], size=len(data), chunk_size=MIB)
    assert excinfo.value.fields["columns"] == columns


def test_exactly_the_column_limit_is_planned() -> None:
    data = b"".join(wide_file(DEFAULT_MAX_HEADER_COLUMNS, rows=3))
    plan = plan_chunks([data], size=len(data), chunk_size=MIB)
    assert plan.record_count == 3


def test_a_header_without_an_end_stops_reading_at_the_byte_limit() -> None:
    limit = 100_000
    size = 10 * MIB
    stream = CountingStream(iter([b"a" * size]))
    with pytest.raises(HeaderTooLargeError, match="larger than the limit"):
        plan_chunks(stream, size=size, chunk_size=MIB, max_header_bytes=limit)
    assert stream.read <= limit + BLOCK


def test_limits_are_parameters() -> None:
    data = b"a,b,c\n1,2,3\n"
    plan_chunks([data], size=len(data), chunk_size=4, max_header_columns=3)
    with pytest.raises(HeaderTooLargeError):
        plan_chunks([data], size=len(data), chunk_size=4, max_header_columns=2)
    with pytest.raises(HeaderTooLargeError):
        plan_chunks([data], size=len(data), chunk_size=4, max_header_bytes=4)


@pytest.mark.parametrize(
    ("data", "encoding", "bom"),
    [
        pytest.param("name,sku\nTent,A1\n".encode("utf-16"), "UTF-16", "FF FE", id="utf-16-le"),
        pytest.param(
            b"\xfe\xff" + "name,sku\n".encode("utf-16-be"), "UTF-16", "FE FF", id="utf-16-be"
        ),
        pytest.param("name,sku\n".encode("utf-32"), "UTF-32", "FF FE 00 00", id="utf-32-le"),
        pytest.param(
            b"\x00\x00\xfe\xff" + "name\n".encode("utf-32-be"),
            "UTF-32",
            "00 00 FE FF",
            id="utf-32-be",
        ),
        pytest.param(b"\xff\xfe", "UTF-16", "FF FE", id="bom-only"),
    ],
)
def test_wide_byte_order_marks_are_an_encoding_error(data: bytes, encoding: str, bom: str) -> None:
    match = f"{encoding} byte-order mark"
    with pytest.raises(UnsupportedEncodingError, match=match) as excinfo:
        plan_chunks([data], size=len(data), chunk_size=MIB)
    assert excinfo.value.kind == "encoding"
    assert excinfo.value.fields == {"bom": bom}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-be"])
def test_nul_bytes_in_the_header_are_an_encoding_error(codec: str) -> None:
    data = "name,sku,productUrl\nTent,A1,https://x.example/\n".encode(codec)
    with pytest.raises(UnsupportedEncodingError, match="NUL bytes") as excinfo:
        plan_chunks([data], size=len(data), chunk_size=MIB)
    assert excinfo.value.kind == "encoding"


@pytest.mark.parametrize(
    ("header", "columns"),
    [
        pytest.param(b"a,b,c", 3, id="plain"),
        pytest.param(b'"a,b",c', 2, id="quoted-comma"),
        pytest.param(b'"multi\r\nline","say ""hi""",x', 3, id="quoted-newline-and-escape"),
        pytest.param(b"", 0, id="empty"),
        pytest.param(b",,", 3, id="empty-names"),
    ],
)
def test_count_header_columns(header: bytes, columns: int) -> None:
    assert count_header_columns(header) == columns


def test_check_header_accepts_a_normal_header() -> None:
    check_header(b"name,sku,productUrl", max_columns=3, max_bytes=100)
