"""Tests for catalog_lib.rules.parsing: prices, weights, JSON-ish cells, FAQs and list cells."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_lib.rules.parsing import (
    js_trim,
    normalize_jsonish,
    parse_faqs,
    parse_json_list,
    parse_json_object,
    parse_jsonish,
    parse_list_cell,
    parse_number,
    parse_price,
    parse_weight,
    strip_wrapping_quotes,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("$349.95", Decimal("349.95"), id="us-plain"),
        pytest.param("$1,299.00", Decimal("1299.00"), id="us-thousands"),
        pytest.param("1.299,00 €", Decimal("1299.00"), id="eu-thousands-decimal-comma"),
        pytest.param("EUR 12,50", Decimal("12.50"), id="eu-decimal-comma"),
        pytest.param("$20 - $40", Decimal("20"), id="range-dollar"),
        pytest.param("20–40", Decimal("20"), id="range-en-dash"),
        pytest.param("19.99 29.99", None, id="list-is-ambiguous"),
        pytest.param("20 to 40", Decimal("20"), id="range-to"),
        pytest.param("$39.99 (20% off)", Decimal("39.99"), id="parenthesised-note"),
        pytest.param("$39.99 20% off", Decimal("39.99"), id="percentage-never-a-price"),
        pytest.param("From $49.95 (3 colors)", Decimal("49.95"), id="note-with-count"),
        pytest.param("2 for $10", Decimal("10"), id="currency-marked-amount-first"),
        pytest.param("49.95 EUR (2 pack)", Decimal("49.95"), id="code-after-amount"),
        pytest.param("Pre-order $20", Decimal("20"), id="hyphen-in-word-is-not-a-sign"),
        pytest.param("1e3", None, id="exponent-is-ambiguous"),
        pytest.param("Was $50 Now $40", None, id="two-marked-amounts-ambiguous"),
        pytest.param("$-5", None, id="negative-after-symbol"),
        pytest.param("$40 - $20", Decimal("20"), id="range-reversed-takes-lower"),
        pytest.param("1.299", Decimal("1.299"), id="bare-dot-three-digits-stays"),
        pytest.param("1,299", Decimal("1299"), id="single-comma-three-digits-is-thousands"),
        pytest.param("12,5", Decimal("12.5"), id="single-comma-one-digit-is-decimal"),
        pytest.param("0,500", Decimal("0.500"), id="zero-leading-group-is-decimal"),
        pytest.param("1.299.000", Decimal("1299000"), id="eu-repeated-dots"),
        pytest.param("1,299,000.50", Decimal("1299000.50"), id="us-repeated-commas"),
        pytest.param("1 299,00 €", Decimal("1299.00"), id="space-grouped-eu"),
        pytest.param("1\u00a0299,00 €", Decimal("1299.00"), id="nbsp-grouped-eu"),
        pytest.param("CHF 1'299.50", Decimal("1299.50"), id="swiss-apostrophe"),
        pytest.param("12.5", Decimal("12.5"), id="plain-decimal"),
        pytest.param(".99", Decimal("0.99"), id="leading-dot"),
        pytest.param("0", Decimal("0"), id="zero"),
        pytest.param("USD 189.00.", Decimal("189.00"), id="trailing-sentence-dot"),
        pytest.param("-5", None, id="negative"),
        pytest.param("-$5.00", None, id="negative-with-symbol"),
        pytest.param("N/A", None, id="na"),
        pytest.param("Free", None, id="free"),
        pytest.param("Call", None, id="call"),
        pytest.param("   ", None, id="blank"),
        pytest.param("1.2.3", None, id="malformed-groups"),
        pytest.param("1,2,3", None, id="malformed-comma-groups"),
    ],
)
def test_parse_price(cell: str, expected: Decimal | None) -> None:
    result = parse_price(cell)
    assert result == expected
    if expected is not None:
        assert isinstance(result, Decimal)
        assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        pytest.param("1234,567", Decimal("1234.567"), id="long-head-comma-is-decimal"),
        pytest.param("1,2.5", None, id="bad-us-group"),
        pytest.param("12345", Decimal("12345"), id="digits"),
    ],
)
def test_parse_number(token: str, expected: Decimal | None) -> None:
    assert parse_number(token) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        pytest.param("2.1", "kg", (2100.0, "kg"), id="kg-unit-column"),
        pytest.param("12 oz", None, (340.0, "oz"), id="oz-in-value"),
        pytest.param("1 lb 4 oz", None, (567.0, "lb"), id="compound-lb-oz"),
        pytest.param("3 pounds", None, (1361.0, "lb"), id="pounds-word"),
        pytest.param("0.45 kilograms", None, (450.0, "kg"), id="kilograms-word"),
        pytest.param("1.5", "lbs", (680.0, "lb"), id="lbs-unit-column"),
        pytest.param("90", "g", (90.0, "g"), id="grams-unit-column"),
        pytest.param("500 grams", None, (500.0, "g"), id="grams-word"),
        pytest.param("340", None, (340.0, "g"), id="plain-number-is-grams"),
        pytest.param("12", "Ounces", (340.0, "oz"), id="unit-column-word"),
        pytest.param("1.1", "kg", (1100.0, "kg"), id="kg-no-float-noise"),
        pytest.param("12 oz (340 g)", None, (340.0, "oz"), id="same-weight-twice-not-summed"),
        pytest.param("1 kg 200 g", None, (1200.0, "kg"), id="compound-kg-g"),
        pytest.param("Approx. 2 lbs", None, (907.0, "lb"), id="leading-text"),
        pytest.param("1,5 kg", None, (1500.0, "kg"), id="decimal-comma"),
        pytest.param("16oz", None, (454.0, "oz"), id="no-space"),
        pytest.param("-5", None, None, id="negative"),
        pytest.param("0", "g", None, id="zero"),
        pytest.param("heavy", None, None, id="no-number"),
    ],
)
def test_parse_weight(value: str, unit: str | None, expected: tuple[float, str] | None) -> None:
    assert parse_weight(value, unit) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param('[{"a": 1}]', [{"a": 1}], id="strict-json"),
        pytest.param(
            "{'Claimed Weight': '12 oz', 'Hood': True, 'Lining': None}",
            {"Claimed Weight": "12 oz", "Hood": True, "Lining": None},
            id="python-repr",
        ),
        pytest.param("[{'values': ('S', 'M')}]", [{"values": ["S", "M"]}], id="tuple-to-list"),
        pytest.param("{'a': true, 'b': null,}", {"a": True, "b": None}, id="mixed-trailing-comma"),
        pytest.param("{'t': 'It\u2019s'}", {"t": "It\u2019s"}, id="curly-apostrophe-kept"),
        pytest.param("{\u2018a\u2019: \u201cb\u201d}", {"a": "b"}, id="curly-quotes"),
        pytest.param("{'a': '\\x41'}", {"a": "A"}, id="hex-escape"),
        pytest.param('{"a": "x\\qy"}', {"a": "x\\qy"}, id="invalid-escape-kept"),
        pytest.param("{'a': 'say \"hi\"'}", {"a": 'say "hi"'}, id="double-quote-inside-single"),
        pytest.param("{1: 'x'}", {"1": "x"}, id="int-key"),
        pytest.param("{'a': '\\\\8'}", {"a": "\\8"}, id="escaped-backslash"),
        pytest.param("['\\U0001f3d5']", ["\U0001f3d5"], id="python-unicode-escape"),
        pytest.param(
            "[{'a': None, 'b': 'None True'}]",
            [{"a": None, "b": "None True"}],
            id="words-in-strings",
        ),
        pytest.param("\"'quoted'\"", "'quoted'", id="json-string-starting-with-apostrophe"),
        pytest.param("null", None, id="null-word"),
        pytest.param("undefined", None, id="undefined-word"),
        pytest.param("", None, id="empty"),
        pytest.param("not json at all {", None, id="garbage"),
        pytest.param("[NaN]", None, id="nan-rejected"),
        pytest.param("[1e999]", None, id="overflow-rejected"),
        pytest.param("{1, 2}", None, id="set-rejected"),
        pytest.param("[" * 5000 + "]" * 5000, None, id="deep-nesting"),
    ],
)
def test_parse_jsonish(cell: str, expected: Any) -> None:
    assert parse_jsonish(cell) == expected


def test_normalize_jsonish_rewrites_python_literals() -> None:
    assert json.loads(normalize_jsonish("{'a': True, 'b': [None, False,],}")) == {
        "a": True,
        "b": [None, False],
    }


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("[1, 2]", [1, 2], id="list"),
        pytest.param('{"a": 1}', [], id="object-is-not-list"),
        pytest.param("garbage", [], id="garbage"),
    ],
)
def test_parse_json_list(cell: str, expected: list[Any]) -> None:
    assert parse_json_list(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param('{"a": "1"}', {"a": "1"}, id="object"),
        pytest.param("[1, 2]", {}, id="array-becomes-empty-object"),
        pytest.param("garbage", {}, id="garbage"),
    ],
)
def test_parse_json_object(cell: str, expected: dict[str, Any]) -> None:
    assert parse_json_object(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param(
            '[{"question":"Is the footprint included?","answer":"No, sold separately."}]',
            [{"question": "Is the footprint included?", "answer": "No, sold separately."}],
            id="json",
        ),
        pytest.param(
            "[{'question': 'Q?', 'answer': \"It's fine\"}, {'question': ' ', 'answer': 'x'}]",
            [{"question": "Q?", "answer": "It's fine"}],
            id="python-repr-drops-blank",
        ),
        pytest.param(
            '"[{\\"question\\": \\"Q\\", \\"answer\\": \\"A\\"}]"',
            [{"question": "Q", "answer": "A"}],
            id="outer-quotes-and-escapes",
        ),
        pytest.param(
            "[{'question': 'Q1', 'answer': 'A1'}, {'question': 'Q2', 'answer': 'A2'",
            [{"question": "Q1", "answer": "A1"}],
            id="truncated-regex-fallback",
        ),
        pytest.param(
            '{"question": "Q", "answer": "A"}', [{"question": "Q", "answer": "A"}], id="one"
        ),
        pytest.param("nothing here", [], id="none"),
    ],
)
def test_parse_faqs(cell: str, expected: list[dict[str, str]]) -> None:
    assert parse_faqs(cell) == expected


@pytest.mark.parametrize(
    ("cell", "keep_whole", "expected"),
    [
        pytest.param('["Tents","Backpacking"]', True, ["Tents", "Backpacking"], id="json"),
        pytest.param("Jackets, Insulation", True, ["Jackets", "Insulation"], id="comma-split"),
        pytest.param("a,, ,b", True, ["a", "b"], id="drops-empties"),
        pytest.param("[Tents]", True, ["[Tents]"], id="categories-json-error-whole"),
        pytest.param("[Tents]", False, None, id="images-json-error-unset"),
        pytest.param("['a.jpg', 'b.jpg']", False, ["a.jpg", "b.jpg"], id="python-list"),
        pytest.param(
            "https://x/a.jpg?w=1,2, https://x/b.jpg",
            False,
            ["https://x/a.jpg?w=1,2", "https://x/b.jpg"],
            id="url-with-comma",
        ),
        pytest.param('  [1, null, "x"]', True, ["1", "x"], id="non-strings"),
    ],
)
def test_parse_list_cell(cell: str, keep_whole: bool, expected: list[str] | None) -> None:
    assert parse_list_cell(cell, keep_whole_on_error=keep_whole) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param('"ABC-1"', "ABC-1", id="quoted"),
        pytest.param(' "ABC" ', "ABC", id="padded"),
        pytest.param('ABC"', "ABC", id="trailing-only"),
        pytest.param("\ufeffA\u3000", "A", id="js-whitespace"),
    ],
)
def test_strip_wrapping_quotes(value: str, expected: str) -> None:
    assert strip_wrapping_quotes(value) == expected


def test_js_trim_keeps_python_only_whitespace() -> None:
    assert js_trim("\x1ca\x1c") == "\x1ca\x1c"


@given(st.text())
def test_parsers_never_raise(cell: str) -> None:
    parse_price(cell)
    parse_weight(cell, cell)
    parse_faqs(cell)
    parse_list_cell(cell, keep_whole_on_error=True)
    value = parse_jsonish(cell)
    json.dumps(value, allow_nan=False)


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )
)
def test_jsonish_round_trips_json_and_python_repr(value: Any) -> None:
    assert parse_jsonish(json.dumps(value)) == value
    if not isinstance(value, str):
        assert parse_jsonish(repr(value)) == value


@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_price_round_trips_us_and_eu_formats(price: Decimal) -> None:
    us = f"${price:,.2f}"
    eu = f"{price:,.2f} €".replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    assert parse_price(us) == price
    assert parse_price(eu) == price
