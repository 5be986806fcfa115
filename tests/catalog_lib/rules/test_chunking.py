"""Tests for the record-exact chunk planner, including property tests against Python's csv."""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_lib.core.errors import (
    EmptyObjectError,
    InvalidArgumentError,
    MalformedCsvError,
    SourceChangedError,
)
from catalog_lib.core.sizes import parse_size
from catalog_lib.rules.chunking import MIB, ChunkPlan, ChunkSpec, plan_chunks
from catalog_lib.rules.records import iter_records

BOM = b"\xef\xbb\xbf"
HEADER_NAMES = ["sku", "name", " price ", "desc,ription", 'say "hi"', "línea\nnueva", "名前"]
CELL_PIECES = ["a", "Zz", "0", " ", "é", "日本", "😀", ",", '"', "\n", "\r\n", "\r", "x y"]


@dataclass(frozen=True)
class CsvCase:
    """A generated CSV file plus what a correct reader must find in it."""

    data: bytes
    header: bytes
    has_bom: bool
    data_start: int
    names: list[str]
    rows: list[list[str]]
    row_ends: frozenset[int]


def _serialize_cell(cell: str, *, force_quote: bool, alone: bool) -> str:
    needs_quote = any(c in cell for c in ",\n\r") or cell.startswith('"') or (alone and not cell)
    if needs_quote or force_quote:
        return '"' + cell.replace('"', '""') + '"'
    return cell  # may hold a literal quote mid-field, which csv readers keep as data


@st.composite
def csv_cases(draw: st.DrawFn, *, min_rows: int = 0, max_rows: int = 40, pad: int = 0) -> CsvCase:
    """Random CSV files: odd header names, multi-byte cells, quotes, CR/LF, blank lines, BOM."""
    crlf = draw(st.booleans())
    term = "\r\n" if crlf else "\n"
    has_bom = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(HEADER_NAMES), min_size=1, max_size=6))
    cell = st.lists(st.sampled_from(CELL_PIECES), max_size=6).map("".join)
    if pad:
        cell = st.tuples(cell, st.integers(0, pad)).map(lambda t: t[0] + "p" * t[1])
    rows = draw(
        st.lists(
            st.lists(cell, min_size=1, max_size=len(names) + 2),
            min_size=min_rows,
            max_size=max_rows,
        )
    )
    blank = st.sampled_from(["", "\r", "\r\r"])
    lines: list[tuple[str, bool]] = []  # (line text without terminator, is a data row)
    if draw(st.integers(0, 9)) == 9:
        lines.append((draw(blank), False))
    header_index = len(lines)
    quote_names = draw(st.booleans())
    header_text = ",".join(
        _serialize_cell(n, force_quote=quote_names, alone=len(names) == 1) for n in names
    )
    lines.append((header_text, False))
    for row in rows:
        while draw(st.integers(0, 7)) == 7:
            lines.append((draw(blank), False))
        force = draw(st.lists(st.booleans(), min_size=len(row), max_size=len(row)))
        text = ",".join(
            _serialize_cell(c, force_quote=f, alone=len(row) == 1)
            for c, f in zip(row, force, strict=True)
        )
        lines.append((text, True))
    while draw(st.integers(0, 4)) == 4:
        lines.append((draw(blank), False))
    trailing_newline = draw(st.booleans())

    out = bytearray(BOM if has_bom else b"")
    row_ends: set[int] = set()
    header = b""
    data_start = -1
    for i, (text, is_row) in enumerate(lines):
        encoded = text.encode()
        if i == header_index:
            header = encoded
            data_start = len(out) + len(encoded) + len(term)
        out += encoded
        if i < len(lines) - 1 or trailing_newline:
            out += term.encode()
            if is_row:
                row_ends.add(len(out) - 1)
    return CsvCase(
        data=bytes(out),
        header=header,
        has_bom=has_bom,
        data_start=min(data_start, len(out)),
        names=names,
        rows=rows,
        row_ends=frozenset(row_ends),
    )


def split_blocks(data: bytes, rnd: random.Random) -> Iterator[bytes]:
    """Yield ``data`` in random-sized pieces, from single bytes to everything at once."""
    pos = 0
    while pos < len(data):
        step = rnd.choice([1, 2, 3, 5, 64, 1000, 4096, len(data)])
        yield data[pos : pos + step]
        pos += step


def expected_records(case: CsvCase) -> list[tuple[int, dict[str, str]]]:
    mapping = {name.strip(): i for i, name in enumerate(case.names)}
    return [
        (ordinal, {n: row[i] for n, i in mapping.items() if i < len(row)})
        for ordinal, row in enumerate(case.rows, start=1)
    ]


def python_csv_rows(data: bytes) -> list[list[str]]:
    """Records of the whole file per Python's csv module, blank records dropped."""
    text = data.removeprefix(BOM).decode()
    return [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]


def records_of(data: bytes, plan: ChunkPlan) -> list[tuple[int, dict[str, str]]]:
    out: list[tuple[int, dict[str, str]]] = []
    for chunk in plan.chunks:
        body = data[chunk.byte_start : chunk.byte_end + 1]
        found = list(iter_records(body, header=plan.header, first_record=chunk.first_record))
        assert len(found) == chunk.record_count
        out.extend(found)
    return out


def check_plan_shape(case: CsvCase, plan: ChunkPlan) -> None:
    """Coverage, contiguity and record-aligned boundaries, without parsing any chunk."""
    assert plan.size == len(case.data)
    assert plan.has_bom == case.has_bom
    assert plan.header == case.header
    assert plan.data_start == case.data_start
    assert plan.record_count == len(case.rows)
    if not case.rows:
        assert plan.chunks == ()
        return
    assert plan.chunks[0].byte_start == plan.data_start
    assert plan.chunks[-1].byte_end == plan.size - 1
    seen = 0
    for i, chunk in enumerate(plan.chunks):
        assert chunk.index == i
        assert chunk.length >= 1
        assert chunk.record_count >= 1
        assert chunk.first_record == seen + 1
        seen += chunk.record_count
        if i + 1 < len(plan.chunks):
            assert plan.chunks[i + 1].byte_start == chunk.byte_end + 1
            assert chunk.byte_end in case.row_ends  # a data record's LF, never a quoted one
    assert seen == len(case.rows)


def check_plan(case: CsvCase, plan: ChunkPlan) -> None:
    check_plan_shape(case, plan)
    assert len(python_csv_rows(case.data)) == len(case.rows) + 1
    whole = list(iter_records(case.data[plan.data_start :], header=plan.header, first_record=1))
    assert whole == expected_records(case)
    assert records_of(case.data, plan) == whole


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=csv_cases(), chunk_size=st.integers(1, 64), rnd=st.randoms(use_true_random=False))
def test_tiny_chunks_are_record_exact(case: CsvCase, chunk_size: int, rnd: random.Random) -> None:
    plan = plan_chunks(split_blocks(case.data, rnd), size=len(case.data), chunk_size=chunk_size)
    check_plan(case, plan)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=csv_cases(min_rows=20, max_rows=40, pad=400),
    chunk_size=st.sampled_from([1024, 1025, 1536, 2048, 3000, 4096]),
    rnd=st.randoms(use_true_random=False),
)
def test_kib_chunks_are_record_exact(case: CsvCase, chunk_size: int, rnd: random.Random) -> None:
    plan = plan_chunks(split_blocks(case.data, rnd), size=len(case.data), chunk_size=chunk_size)
    check_plan(case, plan)
    if len(case.data) - plan.data_start > 2 * chunk_size:
        assert len(plan.chunks) >= 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=csv_cases(max_rows=12), data=st.data())
def test_plan_does_not_depend_on_block_sizes(case: CsvCase, data: st.DataObject) -> None:
    chunk_size = data.draw(st.integers(1, 200))
    whole = plan_chunks([case.data], size=len(case.data), chunk_size=chunk_size)
    bytewise = plan_chunks(
        (case.data[i : i + 1] for i in range(len(case.data))),
        size=len(case.data),
        chunk_size=chunk_size,
    )
    rnd = data.draw(st.randoms(use_true_random=False))
    pieces = plan_chunks(split_blocks(case.data, rnd), size=len(case.data), chunk_size=chunk_size)
    assert whole == bytewise == pieces


def _sweep_case() -> CsvCase:
    """A deterministic ~22 KiB file full of quoted newlines, CRLF and multi-byte text."""
    rnd = random.Random(20260516)
    names = ["sku", "name", "description", "price"]
    rows: list[list[str]] = []
    for i in range(160):
        desc = "".join(rnd.choice(CELL_PIECES) for _ in range(rnd.randint(0, 120)))
        rows.append([f"SKU-{i}", rnd.choice(["Tent 日本", "Parka é", '12" pad', ""]), desc, "9"])
    lines = [",".join(names)]
    row_ends: set[int] = set()
    out = bytearray(BOM + lines[0].encode() + b"\r\n")
    data_start = len(out)
    for row in rows:
        if rnd.random() < 0.1:
            out += b"\r\n"
        out += ",".join(_serialize_cell(c, force_quote=False, alone=False) for c in row).encode()
        out += b"\r\n"
        row_ends.add(len(out) - 1)
    return CsvCase(
        data=bytes(out),
        header=lines[0].encode(),
        has_bom=True,
        data_start=data_start,
        names=names,
        rows=rows,
        row_ends=frozenset(row_ends),
    )


def test_every_chunk_size_from_one_kib_up() -> None:
    case = _sweep_case()
    assert len(case.data) > 16 * 1024
    whole = expected_records(case)
    for chunk_size in range(1024, 4097):
        plan = plan_chunks([case.data], size=len(case.data), chunk_size=chunk_size)
        check_plan_shape(case, plan)
        if chunk_size % 97 == 0:
            assert records_of(case.data, plan) == whole


def test_every_chunk_size_on_a_small_file() -> None:
    data = (
        '\ufeffsku,"na\nme"\r\n1,"日本\r\n, ""q"""\r\n\r\n2,12" tent\r\n3,"a\rb"\r\n\r\r\n4,😀'
    ).encode()
    sizes = set()
    for chunk_size in range(1, len(data) + 2):
        plan = plan_chunks([data], size=len(data), chunk_size=chunk_size)
        sizes.add(len(plan.chunks))
        assert plan.header == b'sku,"na\nme"'
        got = records_of(data, plan)
        assert [o for o, _ in got] == [1, 2, 3, 4]
        assert [r["sku"] for _, r in got] == ["1", "2", "3", "4"]
        assert got[0][1]["na\nme"] == '日本\r\n, "q"'
        assert got[1][1]["na\nme"] == '12" tent'
        assert got[2][1]["na\nme"] == "a\rb"
    assert sizes == {1, 2, 3, 4}


def test_empty_object_is_terminal() -> None:
    with pytest.raises(EmptyObjectError):
        plan_chunks([], size=0, chunk_size=1024)
    with pytest.raises(EmptyObjectError):
        plan_chunks([b""], size=0, chunk_size=1024)


@pytest.mark.parametrize(
    ("data", "has_bom", "data_start"),
    [
        (b"sku,name", False, 8),
        (b"sku,name\n", False, 9),
        (b"sku,name\r\n", False, 10),
        (BOM + b"sku,name\r\n", True, 13),
        (BOM + b"sku,name", True, 11),
        (b"sku,name\n\n\r\n\r\n", False, 9),
        (b"\n\r\nsku,name\n", False, 12),
    ],
    ids=["no-newline", "lf", "crlf", "bom-crlf", "bom-no-newline", "blank-tail", "blank-lead"],
)
def test_header_only_file_has_no_chunks(data: bytes, has_bom: bool, data_start: int) -> None:
    plan = plan_chunks([data], size=len(data), chunk_size=4)
    assert plan.header == b"sku,name"
    assert plan.has_bom is has_bom
    assert plan.chunks == ()
    assert plan.record_count == 0
    assert plan.data_start == data_start


@pytest.mark.parametrize("data", [b"\n", b"\r\n\r\n", BOM, BOM + b"\n"], ids=repr)
def test_file_without_header_record_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedCsvError, match="no header"):
        plan_chunks([data], size=len(data), chunk_size=4)


def test_header_wider_than_200_kib() -> None:
    names = [f"column_{i}" for i in range(25_000)] + ['"multi\r\nline, ""name"""', "sku"]
    header = ",".join(names).encode()
    assert len(header) > 200 * 1024
    data = header + b"\r\n" + b"".join(b"%d,x\r\n" % i for i in range(300))
    blocks = (data[i : i + 4096] for i in range(0, len(data), 4096))
    plan = plan_chunks(blocks, size=len(data), chunk_size=1024, max_header_columns=30_000)
    assert plan.header == header
    assert plan.data_start == len(header) + 2
    assert plan.record_count == 300
    assert len(plan.chunks) > 1
    got = records_of(data, plan)
    assert got[0] == (1, {"column_0": "0", "column_1": "x"})
    assert got[-1][0] == 300


def test_record_wider_than_chunk_size_gets_its_own_larger_chunk() -> None:
    wide = '"' + ("long line\n" * 1000) + '"'
    data = f"sku,desc\n1,a\n2,{wide}\n3,b\n4,c\n".encode()
    plan = plan_chunks([data], size=len(data), chunk_size=8)
    start = plan.data_start
    wide_end = len("1,a\n2,") + len(wide)  # relative offset of record 2's LF
    # The first LF at or after offset 8 ends the wide record 2; the grid targets inside it are
    # skipped, and the next one (the first multiple of 8 after wide_end) ends record 4.
    assert (wide_end // 8 + 1) * 8 == wide_end + 8
    assert [(c.byte_start - start, c.record_count) for c in plan.chunks] == [
        (0, 2),
        (wide_end + 1, 2),
    ]
    assert plan.chunks[0].length > 10_000
    assert [r["sku"] for _, r in records_of(data, plan)] == ["1", "2", "3", "4"]


def test_multibyte_character_straddling_a_target_offset() -> None:
    data = ("sku,name\n" + "".join(f"{i},日本語テキスト\n" for i in range(50))).encode()
    start = data.index(b"\n") + 1
    for chunk_size in range(1, 60):
        target = start + chunk_size
        plan = plan_chunks([data], size=len(data), chunk_size=chunk_size)
        for chunk in plan.chunks:
            assert data[chunk.byte_end] == 0x0A
            assert data[chunk.byte_start : chunk.byte_end + 1].decode()  # never mid-character
        if 0x80 <= data[target] < 0xC0:  # the target is a UTF-8 continuation byte
            assert plan.chunks[0].byte_end == data.index(b"\n", target)
        got = records_of(data, plan)
        assert [r["name"] for _, r in got] == ["日本語テキスト"] * 50


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'sku,name\n1,"abc\n2,x\n', 11),
        (b'sku,"name\n1,abc\n', 4),
        (BOM + b'sku,name\r\n1,"a""b""\r\n', 15),
    ],
    ids=["data", "header", "escaped-quotes"],
)
def test_unterminated_quote_is_malformed(data: bytes, offset: int) -> None:
    with pytest.raises(MalformedCsvError, match="unterminated") as info:
        plan_chunks(iter([data[:5], data[5:]]), size=len(data), chunk_size=4)
    assert info.value.fields["byte_offset"] == offset
    assert data[offset] == 0x22


def test_shorter_stream_than_head_size_is_source_change() -> None:
    data = b"sku\n1\n2\n"
    with pytest.raises(SourceChangedError):
        plan_chunks([data], size=len(data) + 1, chunk_size=4)


def test_longer_stream_than_head_size_stops_reading_early() -> None:
    endless = itertools.repeat(b"1,2\n")
    with pytest.raises(SourceChangedError, match="longer"):
        plan_chunks(endless, size=100, chunk_size=4)


def test_blank_only_remainder_is_merged_into_the_last_chunk() -> None:
    data = b"h\n1\n2\n\n\r\n\r\r\n\n"
    plan = plan_chunks([data], size=len(data), chunk_size=1)
    assert [(c.byte_start, c.byte_end, c.record_count) for c in plan.chunks] == [
        (2, 3, 1),
        (4, len(data) - 1, 1),
    ]


def test_literal_quote_inside_unquoted_field_does_not_open_a_quote() -> None:
    # Pure quote parity would treat everything after 12" as quoted and swallow the newlines.
    data = b'sku,size\n1,12" tent\n2,a""b\n3,x\n'
    plan = plan_chunks([data], size=len(data), chunk_size=1)
    assert [c.record_count for c in plan.chunks] == [1, 1, 1]
    assert [r["size"] for _, r in records_of(data, plan)] == ['12" tent', 'a""b', "x"]


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_chunk_size_must_be_positive(chunk_size: int) -> None:
    with pytest.raises(InvalidArgumentError, match="chunk_size"):
        plan_chunks([b"a\n"], size=2, chunk_size=chunk_size)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4KiB", 4096),
        ("16MiB", 16 * MIB),
        ("1GiB", 1024**3),
        ("512KB", 512_000),
        ("16MB", 16_000_000),
        ("1048576", 1_048_576),
        ("1.5MiB", 1_572_864),
        (" 16 mib ", 16 * MIB),
        ("2kb", 2000),
        ("10b", 10),
        (".5KiB", 512),
        (20, 20),
    ],
    ids=repr,
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "MiB", "0", "0MiB", "-1", "-4KiB", "4 XB", "1e6", "nan", "0.1B", "1,5MiB", 0, -5, True],
    ids=repr,
)
def test_parse_size_rejects(text: str | int) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_chunk_label_and_length() -> None:
    chunk = ChunkSpec(
        index=3, byte_start=32 * MIB, byte_end=48 * MIB - 1, first_record=9, record_count=4
    )
    assert chunk.label() == "chunk-3 [32.0–48.0 MiB]"
    assert chunk.length == 16 * MIB
    small = ChunkSpec(index=0, byte_start=10, byte_end=104_857, first_record=1, record_count=1)
    assert small.label() == "chunk-0 [0.0–102.4 KiB]"
    assert small.length == 104_848
    # A small chunk far into the file keeps KiB: its range stays readable.
    late = ChunkSpec(
        index=9, byte_start=MIB - 2048, byte_end=MIB + 1023, first_record=1, record_count=1
    )
    assert late.label() == "chunk-9 [1022.0–1025.0 KiB]"


@pytest.mark.parametrize("block", [262_144 + 17, 300_001])
def test_large_blocks_are_classified_ahead_on_a_worker_thread_with_the_same_plan(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from bench.catalog_csv import build_csv
    from catalog_lib.rules import chunking

    data = build_csv(5_000)  # quoted multi-line cells: some blocks start inside quotes
    threads: list[str] = []
    real = chunking.prepare_block

    def recording(classes: object, piece: bytes) -> object:
        threads.append(threading.current_thread().name)
        return real(classes, piece)  # type: ignore[arg-type]

    monkeypatch.setattr(chunking, "prepare_block", recording)
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    ahead = plan_chunks(blocks, size=len(data), chunk_size=100_000)
    exact = plan_chunks(blocks, size=len(data), chunk_size=100_000, fast=False)
    assert ahead == exact
    assert ahead.record_count == 5_000
    assert any(name.startswith("plan-classify") for name in threads)


def test_read_ahead_stops_at_a_storage_error_after_the_blocks_before_it() -> None:
    from bench.catalog_csv import build_csv

    data = build_csv(2_000)
    block = 300_000

    def failing() -> Iterator[bytes]:
        yield data[:block]
        yield data[block : 2 * block]
        raise SourceChangedError("object changed while it was read")

    with pytest.raises(SourceChangedError, match="changed while it was read"):
        plan_chunks(failing(), size=len(data), chunk_size=100_000)
