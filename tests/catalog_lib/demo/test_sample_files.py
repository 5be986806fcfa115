"""Tests for the demo sample files: deterministic, realistic, and honest about their counts."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest

from catalog_lib.core.errors import InvalidArgumentError
from catalog_lib.demo.sample_files import DemoFile, build_demo_files
from catalog_lib.rules.chunking import plan_chunks
from catalog_lib.rules.mapping import map_row
from catalog_lib.rules.validation import validate_item

BOM = b"\xef\xbb\xbf"
# domain-spec §3, byte for byte (the scheme message is checked by pattern).
UPSTREAM_REASONS = frozenset(
    {
        "Name is required and must be a non-empty string",
        "Name exceeds maximum length (500 chars)",
        "SKU is required and must be a non-empty string",
        "SKU exceeds maximum length (200 chars)",
        "SKU contains invalid characters (allowed: A-Z a-z 0-9 _ . / -)",
        "Product URL is required and must be a non-empty string",
        "Product URL exceeds maximum length (2048 chars)",
        "Product URL must be a valid URL format",
        "Product URL hostname must not be a private/loopback/link-local address",
        "Product URL hostname contains non-ASCII characters (IDN homograph guard)",
        "Description exceeds maximum length (50000 chars)",
        "Brand exceeds maximum length (200 chars)",
        "Category exceeds maximum length (200 chars)",
        "Price must be a non-negative number",
    }
)
SCHEME_RE = re.compile(r"Product URL scheme must be http: or https: \(got [a-z][a-z0-9+.-]*:\)")
# The deliberately broken rows the demo promises (brief: missing name, SKU with spaces,
# javascript: URL, private IP URL, N/A price).
PROMISED_REASONS = {
    "Name is required and must be a non-empty string",
    "SKU contains invalid characters (allowed: A-Z a-z 0-9 _ . / -)",
    "Product URL scheme must be http: or https: (got javascript:)",
    "Product URL hostname must not be a private/loopback/link-local address",
    "Price must be a non-negative number",
}


@pytest.fixture(scope="module")
def demo() -> list[DemoFile]:
    """The default demo set, built once for the module."""
    return build_demo_files()


def read_rows(file: DemoFile) -> list[dict[str, str]]:
    """Parse a demo file the way a consumer would (BOM stripped, newlines left to csv)."""
    text = file.data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), strict=True))


def reasons_of(file: DemoFile) -> list[list[str]]:
    """Validation reasons per row (empty list for a valid row)."""
    return [[e.reason for e in validate_item(map_row(row))] for row in read_rows(file)]


def test_same_seed_gives_same_bytes_and_other_seed_differs() -> None:
    first = build_demo_files(seed=3, rows_per_source=120)
    again = build_demo_files(seed=3, rows_per_source=120)
    other = build_demo_files(seed=4, rows_per_source=120)
    assert [f.data for f in first] == [f.data for f in again]
    assert first == again
    assert all(a.data != b.data for a, b in zip(first, other, strict=True))


def test_keys_follow_upstream_convention(demo: list[DemoFile]) -> None:
    assert len({f.source for f in demo}) >= 3
    for file in demo:
        assert file.key == f"v2/{file.source}/{file.source}_2026-11-30T09-00-00.csv"
    stamped = build_demo_files(rows_per_source=20, stamp="2027-01-02T03-04-05")
    assert all(f.key.endswith("_2027-01-02T03-04-05.csv") for f in stamped)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"rows_per_source": 9}, "at least 10", id="too-few-rows"),
        pytest.param({"stamp": "2026-11-30 09:00"}, "stamp", id="bad-stamp"),
    ],
)
def test_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        build_demo_files(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("rows", [10, 57, 400])
def test_every_file_parses_to_expected_rows(rows: int) -> None:
    for file in build_demo_files(seed=11, rows_per_source=rows):
        header = file.data.decode("utf-8-sig").splitlines()[0].split(",")
        parsed = read_rows(file)
        assert file.expected_rows == rows == len(parsed)
        assert all(len(row) == len(header) and None not in row for row in parsed)


def test_expected_invalid_matches_mapper_and_validator(demo: list[DemoFile]) -> None:
    for file in demo:
        rejected = sum(1 for reasons in reasons_of(file) if reasons)
        assert file.expected_invalid == rejected
        # About 1-2 % per source, as a real scraper run would produce.
        assert 0.01 * file.expected_rows <= rejected <= 0.02 * file.expected_rows


def test_invalid_reasons_are_upstream_strings_and_cover_the_promised_kinds(
    demo: list[DemoFile],
) -> None:
    seen = Counter(reason for file in demo for row in reasons_of(file) for reason in row)
    for reason in seen:
        assert reason in UPSTREAM_REASONS or SCHEME_RE.fullmatch(reason), reason
    assert set(seen) == PROMISED_REASONS


def test_each_invalid_row_has_exactly_one_reason(demo: list[DemoFile]) -> None:
    assert all(len(reasons) <= 1 for file in demo for reasons in reasons_of(file))


def test_contains_multiline_quoted_fields_with_lf_and_crlf(demo: list[DemoFile]) -> None:
    descriptions = [row["description"] for file in demo for row in read_rows(file)]
    assert any("\r\n" in text for text in descriptions)
    assert any(re.search(r"(?<!\r)\n", text) for text in descriptions)


def test_contains_non_ascii_text(demo: list[DemoFile]) -> None:
    text = "".join(file.data.decode("utf-8-sig") for file in demo)
    for sample in ("é", "ü", "ñ", "日本語", "🏕"):
        assert sample in text, sample


def test_contains_commas_and_doubled_quotes_inside_fields(demo: list[DemoFile]) -> None:
    rows = [row for file in demo for row in read_rows(file)]
    assert any('"' in row["description"] for row in rows)
    assert any("," in row["categories"] and "[" not in row["categories"] for row in rows)
    assert any(b'""' in file.data for file in demo)


def test_duplicate_skus_update_the_price_later_in_the_file(demo: list[DemoFile]) -> None:
    for file in demo:
        items = [map_row(row) for row in read_rows(file)]
        counts = Counter(item.get("sku") for item in items)
        duplicated = [sku for sku, n in counts.items() if n > 1]
        assert duplicated, file.source
        for sku in duplicated:
            prices = [item.get("price") for item in items if item.get("sku") == sku]
            assert prices[0] != prices[-1], (file.source, sku)


def test_one_file_uses_crlf_and_a_bom_and_another_plain_lf(demo: list[DemoFile]) -> None:
    crlf = [f for f in demo if f.data.startswith(BOM)]
    assert len(crlf) == 1
    assert crlf[0].data.split(b"\n", 1)[0].endswith(b"\r")
    assert crlf[0].data.endswith(b"\r\n")
    lf = [f for f in demo if not f.data.startswith(BOM)]
    assert lf
    assert all(b"\r" not in f.data.split(b"\n", 1)[0] and f.data.endswith(b"\n") for f in lf)


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (r"\$\d{3}\.\d\d,", "US price"),
        (r"\$1,\d{3}\.\d\d", "US thousands"),
        (r"\d\.\d{3},\d\d €", "EU thousands"),
        (r"\$\d+ - \$\d+", "price range"),
        (r",\d\.\d+,kg,", "kg with unit column"),
        (r",\d+ oz,", "ounces"),
        (r",\d+ lb \d+ oz,", "pounds and ounces"),
        (r",\d+ pounds,", "pounds word"),
        (r"'Claimed Weight': '\d+ oz'", "techs weight as Python repr"),
        (r"': True", "Python True in techs"),
        (r'""attribute"": ""color""', "variants JSON"),
        (r"""\[\{'attribute': 'color'""", "variants Python repr"),
        (r'"\[""[A-Z]', "categories JSON"),
        (r",InStock,", "non-enum availability"),
        (r"https://cdn\.[a-z.]+/img/", "images"),
    ],
)
def test_contains_realistic_cell_formats(demo: list[DemoFile], pattern: str, what: str) -> None:
    text = "".join(file.data.decode("utf-8-sig") for file in demo)
    assert re.search(pattern, text), what


def test_instock_availability_is_dropped_not_rejected(demo: list[DemoFile]) -> None:
    rows = [row for file in demo for row in read_rows(file) if row["availability"] == "InStock"]
    valid = [row for row in rows if not validate_item(map_row(row))]
    assert valid
    assert all("availability" not in map_row(row) for row in valid)


@pytest.mark.parametrize("chunk_size", [4096, 10**9], ids=["many-chunks", "one-chunk"])
def test_chunk_plan_counts_the_same_records(demo: list[DemoFile], chunk_size: int) -> None:
    for file in demo:
        plan = plan_chunks([file.data], size=len(file.data), chunk_size=chunk_size)
        assert plan.record_count == file.expected_rows
        assert sum(chunk.record_count for chunk in plan.chunks) == file.expected_rows
