"""Differential tests: the grammar counter's bit-parallel scan equals its event scan."""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.catalog_csv import build_csv
from catalog_lib.core.errors import CatalogError
from catalog_lib.rules.grammar_scan import GrammarScan, scan_blocks
from catalog_lib.rules.utf8_check import Utf8Check
from tests.csv_pieces import GRAMMAR_PIECES

PIECES = [*GRAMMAR_PIECES, b'",x', b"\x00", b"\xff"]
COMPARED = [
    f.name for f in dataclasses.fields(GrammarScan) if f.name not in ("utf8", "fast", "classes")
]


def _state(data: bytes, block: int, *, fast: bool) -> tuple[object, ...]:
    blocks = iter([data[i : i + block] for i in range(0, len(data), block)])
    try:
        scan = scan_blocks(blocks, fast=fast)
    except CatalogError as exc:
        return (type(exc).__name__, repr(sorted(exc.fields.items())))
    return tuple(getattr(scan, name) for name in COMPARED)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([b"a,b\n", b'"a","b"\r\n', b"\nsku\n", b"\xef\xbb\xbfa,b,c\n"]))
    return header + b"".join(draw(st.lists(st.sampled_from(PIECES), max_size=300)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=files(), block=st.sampled_from([1, 3, 63, 64, 65, 200, 4096, 1 << 20]))
def test_fast_counter_scan_equals_the_event_scan(data: bytes, block: int) -> None:
    assert _state(data, block, fast=True) == _state(data, block, fast=False)


def test_fast_counter_scan_equals_the_event_scan_on_a_benchmark_catalog() -> None:
    data = build_csv(3_000).replace(b"\n", b"\r\n")
    for payload in (build_csv(3_000), data):
        for block in (4096, 70_000, 1 << 20):
            assert _state(payload, block, fast=True) == _state(payload, block, fast=False)


def _utf8_ok(blocks: list[bytes]) -> bool:
    check = Utf8Check()
    try:
        for block in blocks:
            check.feed(block)
        check.finish()
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    data=st.lists(
        st.sampled_from(
            [
                b"a",
                b"\xc3\xa9",
                b"\xe2\x82\xac",
                b"\xf0\x9f\x98\x80",
                b"\xff",
                b"\xc3",
                b"\x80",
                b"\xed\xa0\x80",
                b"\xc0\xaf",
                b"\xf4\x90\x80\x80",
            ]
        ),
        max_size=30,
    ).map(b"".join),
    cuts=st.lists(st.integers(0, 120), max_size=6),
)
def test_streaming_utf8_check_agrees_with_a_strict_decode(data: bytes, cuts: list[int]) -> None:
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    blocks = [data[a:b] for a, b in itertools.pairwise(points)]
    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _utf8_ok(blocks) is expected
