"""Tests for DuckDB record counting against the stdlib quote-parity counter."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from catalog_lib.adapters.counting import RecordCount, count_records
from catalog_lib.adapters.storage import ObjectStore, StorageConfig, open_store
from catalog_lib.core.errors import (
    EmptyObjectError,
    HeaderTooLargeError,
    MalformedCsvError,
    SourceChangedError,
)
from catalog_lib.rules.grammar_scan import count_records_grammar
from catalog_lib.rules.parity_count import count_records_stdlib

CASES_DIR = Path(__file__).parents[2] / "cases" / "csv"

# (bytes, expected non-blank logical records after the header)
CORPUS: dict[str, tuple[bytes, int]] = {
    "basic": (b"a,b,c\n1,2,3\n4,5,6\n", 2),
    "blank_lines": (b"a,b,c\n1,2,3\n\n\n4,5,6\n\n", 2),
    "blank_lines_crlf": (b"a,b,c\r\n1,2,3\r\n\r\n4,5,6\r\n", 2),
    "commas_only": (b"a,b,c\n,,\n1,2,3\n,\n", 3),
    "whitespace_line": (b"a,b,c\n1,2,3\n   \n4,5,6\n", 3),
    "quoted_empty_line": (b'a,b,c\n""\n1,2,3\n', 2),
    "bom": (b"\xef\xbb\xbfa,b,c\n1,2,3\n", 1),
    "bom_quoted_header": (b'\xef\xbb\xbf"a","b"\n1,2\n3,4\n', 2),
    "crlf": (b"a,b,c\r\n1,2,3\r\n4,5,6\r\n", 2),
    "quoted_newlines": (b'a,b,c\n1,"x\ny",3\n4,"p""q\n\nr",6\n', 2),
    "quoted_crlf": (b'a,b,c\r\n1,"x\r\ny",3\r\n7,8,9\r\n', 2),
    "escaped_quotes": (b'a,b\n"say ""hi""",2\n"""",3\n', 2),
    "header_only": (b"a,b,c\n", 0),
    "header_only_no_newline": (b"a,b,c", 0),
    "no_trailing_newline": (b"a,b,c\n1,2,3\n4,5,6", 2),
    "fewer_columns": (b"a,b,c\n1,2\n4\n7,8,9\n", 3),
    "more_columns": (b"a,b,c\n1,2,3,4\n4,5,6,,,,\n", 2),
    "ragged_with_quoted_newline": (b'a,b,c\n1,"x\ny"\n4,5,6,7\n', 2),
    "much_wider_rows": (b"a,b\n" + b",".join([b"x"] * 100) + b"\n1,2\n", 2),
    "single_column": (b"sku\nA\n\nB\n", 2),
    "utf8_cells": ('name,price\nZelt für 2,"1.299,00 €"\n'.encode(), 1),
}

MALFORMED: dict[str, bytes] = {
    "unterminated_quote": b'a,b,c\n1,"x,3\n4,5,6\n',
    "stray_quote": b'a,b,c\n1,x"y,3\n',
}


def _write_corpus() -> None:
    """Keep the corpus visible under tests/cases/csv for humans and other tests."""
    CASES_DIR.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in CORPUS.items():
        path = CASES_DIR / f"reconcile_{name}.csv"
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


_write_corpus()


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize("block_size", [1, 3, 1 << 20], ids=["b1", "b3", "b1m"])
def test_stdlib_counter_matches_expected(name: str, block_size: int) -> None:
    data, expected = CORPUS[name]
    assert count_records_stdlib(_blocks(data, block_size)) == expected


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_stdlib_counter_agrees_with_csv_module_on_non_blank_rows(name: str) -> None:
    data, _ = CORPUS[name]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    non_blank = [r for r in rows if r]
    assert count_records_stdlib([data]) == max(len(non_blank) - 1, 0)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_stdlib_counter_rejects_unbalanced_quotes(name: str) -> None:
    with pytest.raises(MalformedCsvError):
        count_records_stdlib([MALFORMED[name]])


@pytest.fixture
def local_store(tmp_path: Path) -> ObjectStore:
    return open_store(StorageConfig(landing_url=str(tmp_path / "landing")))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_duckdb_count_equals_stdlib_count_local(local_store: ObjectStore, name: str) -> None:
    data, expected = CORPUS[name]
    version = local_store.write(f"{name}.csv", data)
    result = count_records(local_store, version)
    assert result == RecordCount(records=expected, method="duckdb")
    assert result.records == count_records_stdlib(local_store.iter_bytes(version.uri))


@pytest.mark.s3
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_duckdb_count_equals_stdlib_count_s3(s3_bucket: StorageConfig, name: str) -> None:
    store = open_store(s3_bucket)
    data, expected = CORPUS[name]
    version = store.write(f"{name}.csv", data)
    result = count_records(store, version)
    assert result.records == expected
    assert result.records == count_records_stdlib(store.iter_bytes(version.uri, block_size=5))


def test_unterminated_quote_is_refused(local_store: ObjectStore) -> None:
    version = local_store.write("bad.csv", MALFORMED["unterminated_quote"])
    with pytest.raises(MalformedCsvError) as info:
        count_records(local_store, version)
    assert b"4,5,6" not in str(info.value).encode()


# Files the ingest parser accepts but DuckDB cannot read the grammar's way: the grammar counter
# verifies them, and the note says why DuckDB was not used.
GRAMMAR_ONLY: dict[str, tuple[bytes, int, str]] = {
    "stray_quote": (MALFORMED["stray_quote"], 1, "literal quote"),
    "blank_before_header": (b"\na,b\n1,2\n", 1, "blank line before the header"),
    "cr_only_line_endings": (b"a,b\r1,2\r3,4\r", 0, "CR bytes"),
    "mixed_endings": (b"a,b\r\n1,https://x.example.com/1\n2,3\r\n", 2, "mixed LF and CRLF"),
    "cr_cr_lf": (b"a,b\r\r\n1,2\r\r\n", 1, "CR bytes"),
    "windows_1252": (b"a,b\nZelt f\xfcr 2,1\n", 1, "invalid UTF-8"),
    "nul_byte": (b"a,b\nx\x00y,1\n", 1, "NUL bytes"),
}


@pytest.mark.parametrize("name", sorted(GRAMMAR_ONLY))
def test_grammar_counter_verifies_what_duckdb_cannot_read(
    local_store: ObjectStore, name: str
) -> None:
    data, expected, why = GRAMMAR_ONLY[name]
    version = local_store.write(f"{name}.csv", data)
    result = count_records(local_store, version)
    assert (result.records, result.method) == (expected, "grammar")
    assert result.note is not None
    assert why in result.note
    assert count_records_grammar([data[i : i + 1] for i in range(len(data))]) == expected


def test_wide_and_long_records_are_counted_by_duckdb(local_store: ObjectStore) -> None:
    wide = b",".join([b"secretcell"] * 5000)
    long = b"x" * (3 * 1024 * 1024)
    version = local_store.write("wide.csv", b"a,b\n" + wide + b"\n1," + long + b"\n2,3\n")
    assert count_records(local_store, version) == RecordCount(3, "duckdb")


def test_empty_object_is_terminal(local_store: ObjectStore) -> None:
    version = local_store.write("empty.csv", b"")
    with pytest.raises(EmptyObjectError):
        count_records(local_store, version)


def test_changed_object_is_refused(local_store: ObjectStore) -> None:
    version = local_store.write("x.csv", b"a\n1\n")
    local_store.write("x.csv", b"a\n1\n2\n")
    with pytest.raises(SourceChangedError):
        count_records(local_store, version)


def test_large_multiblock_file_counts_exactly(local_store: ObjectStore) -> None:
    row = b'SKU-1,"name, with comma","multi\nline ""desc""",12.50\n'
    data = b"sku,name,desc,price\n" + row * 30_000 + b"\n\nSKU-2,x\n"
    version = local_store.write("big.csv", data)
    assert count_records(local_store, version).records == 30_001
    assert count_records_stdlib(local_store.iter_bytes(version.uri, block_size=4096)) == 30_001
    assert count_records_grammar(local_store.iter_bytes(version.uri, block_size=4096)) == 30_001


@pytest.mark.s3
def test_changed_s3_object_is_refused(s3_bucket: StorageConfig) -> None:
    store = open_store(s3_bucket)
    version = store.write("x.csv", b"a\n1\n")
    store.write("x.csv", b"a\n1\n2\n")
    with pytest.raises(SourceChangedError):
        count_records(store, version)


def test_a_header_wider_than_the_limit_is_refused_before_duckdb(local_store: ObjectStore) -> None:
    header = b",".join(b"c%d" % i for i in range(5_000))
    version = local_store.write("wide-header.csv", header + b"\n" + b"x\n")
    with pytest.raises(HeaderTooLargeError, match="more columns than the limit") as info:
        count_records(local_store, version)
    assert info.value.fields["columns"] == 5_000


def test_a_record_longer_than_duckdbs_default_line_size_is_counted(
    local_store: ObjectStore,
) -> None:
    cell = b"x" * (3 * 1024 * 1024)
    version = local_store.write("long.csv", b'a,b\n1,2\n3,"' + cell + b'"\n5,6\n')
    assert count_records(local_store, version).records == 3


def _record_duckdb_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    from catalog_lib.adapters import counting

    runs: list[tuple[int, int]] = []
    real = counting._DuckCount.count

    def recording(self: counting._DuckCount) -> int:
        runs.append((self.settings.width, self.settings.max_line))
        return real(self)

    monkeypatch.setattr(counting._DuckCount, "count", recording)
    return runs


def test_duckdb_counts_during_the_scan_with_the_header_width(
    local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _record_duckdb_runs(monkeypatch)
    version = local_store.write("uniform.csv", b'a,b,c\n1,"x\ny",3\n4,5,6\n')
    assert count_records(local_store, version) == RecordCount(2, "duckdb")
    assert runs == [(3, 2 * 1024 * 1024)]  # one run, started from the header, kept


def test_duckdb_counts_again_when_the_scan_finds_a_row_wider_than_the_header(
    local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _record_duckdb_runs(monkeypatch)
    version = local_store.write("wider.csv", b"a,b\n1,2\n3,4,5,6\n7,8\n")
    assert count_records(local_store, version) == RecordCount(3, "duckdb")
    # the speculative run with the header's width is dropped; the recount declares 4 columns
    assert runs[0] == (2, 2 * 1024 * 1024)
    assert runs[-1] == (4, 2 * 1024 * 1024)


def test_a_refused_file_never_waits_for_a_duckdb_count(
    local_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _record_duckdb_runs(monkeypatch)
    version = local_store.write("mixed.csv", b"a,b\r\n1,2\n3,4\r\n")
    result = count_records(local_store, version)
    assert result.method == "grammar"
    assert result.records == 2
    assert result.note == "DuckDB not used: mixed LF and CRLF line endings"
    assert len(runs) <= 1  # at most the speculative run, whose count is never used


def test_a_record_longer_than_the_default_buffer_is_counted_within_the_memory_limit(
    local_store: ObjectStore,
) -> None:
    # 20 MiB in one record: DuckDB's buffer grows to 40 MiB and its memory limit with it.
    cell = b"y" * (20 * 1024 * 1024)
    version = local_store.write("huge.csv", b'a,b\n1,"' + cell + b'"\n3,4\n')
    assert count_records(local_store, version) == RecordCount(2, "duckdb")


_PEAK_OF_A_COUNT = """
import sys
from pathlib import Path
from catalog_lib.adapters.counting import count_records
from catalog_lib.adapters.storage import StorageConfig, open_store

def peak_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024

store = open_store(StorageConfig(landing_url=sys.argv[1]))
version = store.head("big.csv")
before = peak_mib()
print(count_records(store, version).records, peak_mib() - before)
"""


@pytest.mark.slow
def test_the_count_does_not_hold_the_file_in_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    block = b"".join(b'%d,"line one\nline two",x\n' % i for i in range(20_000))
    copies = (256 * 1024 * 1024) // len(block) + 1
    with (tmp_path / "big.csv").open("wb") as out:
        out.write(b"a,b,c\n")
        for _ in range(copies):
            out.write(block)
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_A_COUNT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=280,
        check=True,
    )
    # the last line: DuckDB may draw its progress bar on stdout before it
    records, growth_mib = (int(value) for value in done.stdout.splitlines()[-1].split())
    assert records == 20_000 * copies
    # DuckDB caches what it reads up to its memory limit (four 16 MiB buffers + 32 MiB);
    # without a limit the peak grew by the file's size (256 MiB here).
    assert growth_mib < 160
