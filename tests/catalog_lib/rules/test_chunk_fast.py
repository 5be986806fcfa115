"""Differential tests: the planner's bit-parallel fast path plans exactly like the byte scanner."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.catalog_csv import build_csv
from catalog_lib.core.errors import CatalogError
from catalog_lib.rules.chunking import ChunkPlan, plan_chunks
from tests.csv_pieces import GRAMMAR_PIECES

PIECES = [*GRAMMAR_PIECES, b" "]


def _plan(data: bytes, chunk_size: int, block: int, *, fast: bool) -> ChunkPlan | tuple[str, str]:
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    try:
        return plan_chunks(blocks, size=len(data), chunk_size=chunk_size, fast=fast)
    except CatalogError as exc:  # both paths must refuse the same way, with the same fields
        return (type(exc).__name__, repr(sorted(exc.fields.items())))


@st.composite
def grammar_files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([b"a,b\n", b'"a","b"\r\n', b"\n\rsku\r\n", b"\xef\xbb\xbfa,b\n"]))
    body = draw(st.lists(st.sampled_from(PIECES), max_size=300))
    return header + b"".join(body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=grammar_files(),
    chunk_size=st.sampled_from([1, 7, 64, 100, 1000, 1 << 20]),
    block=st.sampled_from([1, 3, 63, 64, 65, 200, 4096]),
)
def test_fast_planner_equals_the_byte_scanner(data: bytes, chunk_size: int, block: int) -> None:
    assert _plan(data, chunk_size, block, fast=True) == _plan(data, chunk_size, block, fast=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.text(alphabet='ab,"\n\r é', max_size=40),
            st.booleans(),
        ),
        max_size=80,
    ),
    crlf=st.booleans(),
    chunk_size=st.integers(1, 512),
    block=st.integers(1, 300),
)
def test_fast_planner_equals_the_byte_scanner_on_quoted_rows(
    rows: list[tuple[str, bool]], crlf: bool, chunk_size: int, block: int
) -> None:
    term = "\r\n" if crlf else "\n"
    lines = ["sku,desc"]
    for text, quoted in rows:
        cell = '"' + text.replace('"', '""') + '"' if quoted else text
        lines.append(f"x,{cell}")
    data = (term.join(lines) + term).encode()
    assert _plan(data, chunk_size, block, fast=True) == _plan(data, chunk_size, block, fast=False)


@pytest.mark.parametrize("chunk_size", [4096, 65_536, 1 << 20])
@pytest.mark.parametrize("block", [65_536, 1 << 20])
def test_fast_planner_equals_the_byte_scanner_on_a_benchmark_catalog(
    chunk_size: int, block: int
) -> None:
    data = build_csv(6_000)
    fast = _plan(data, chunk_size, block, fast=True)
    assert fast == _plan(data, chunk_size, block, fast=False)
    assert isinstance(fast, ChunkPlan)
    assert fast.record_count == 6_000


def test_fast_planner_equals_the_byte_scanner_with_literal_quotes_in_big_blocks() -> None:
    # An inch mark in a cell every ~400 lines: each 1 MiB block holds some, so the
    # fast path hands 64 KiB pieces (not the whole block) to the byte scanner.
    lines = build_csv(4_000).split(b"\n")
    for i in range(1, len(lines), 400):
        if lines[i] and not lines[i].startswith(b'"'):
            lines[i] = lines[i].replace(b",", b' 5" tent,', 1)
    data = b"\n".join(lines)
    for chunk_size in (4096, 100_000, 1 << 20):
        fast = _plan(data, chunk_size, 1 << 20, fast=True)
        assert fast == _plan(data, chunk_size, 1 << 20, fast=False)
        assert isinstance(fast, ChunkPlan)
