"""Tests for catalog_lib.rules.validation: every upstream reason string, byte for byte."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_lib.rules.validation import FieldError, utf16_len, validate_item

VALID: dict[str, Any] = {
    "name": "Tent",
    "sku": "TENT-1",
    "product_url": "https://shop.example.com/p/tent",
    "review_count": 0,
}
EMOJI = "\U0001f3d5"  # astral: 2 UTF-16 code units, 1 Python code point
_DROP = object()  # marks a key to remove from VALID


def errors_for(**changes: Any) -> list[dict[str, Any]]:
    """Validate VALID with changes applied (keys set to _DROP are removed)."""
    item = {**VALID, **changes}
    for key in [k for k, v in changes.items() if v is _DROP]:
        del item[key]
    return [error.to_json() for error in validate_item(item)]


def test_valid_item_has_no_errors() -> None:
    assert validate_item(VALID) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"name": _DROP},
            {"field": "name", "reason": "Name is required and must be a non-empty string"},
            id="name-missing",
        ),
        pytest.param(
            {"name": "x" * 501},
            {
                "field": "name",
                "reason": "Name exceeds maximum length (500 chars)",
                "value": "x" * 501,
            },
            id="name-too-long",
        ),
        pytest.param(
            {"sku": "  "},
            {
                "field": "sku",
                "reason": "SKU is required and must be a non-empty string",
                "value": "  ",
            },
            id="sku-blank",
        ),
        pytest.param(
            {"sku": "A" * 201},
            {
                "field": "sku",
                "reason": "SKU exceeds maximum length (200 chars)",
                "value": "A" * 201,
            },
            id="sku-too-long",
        ),
        pytest.param(
            {"sku": "MUG 350 TI"},
            {
                "field": "sku",
                "reason": "SKU contains invalid characters (allowed: A-Z a-z 0-9 _ . / -)",
                "value": "MUG 350 TI",
            },
            id="sku-charset",
        ),
        pytest.param(
            {"product_url": ""},
            {
                "field": "productUrl",
                "reason": "Product URL is required and must be a non-empty string",
                "value": "",
            },
            id="url-empty",
        ),
        pytest.param(
            {"product_url": "https://e.com/" + "a" * 2035},
            {
                "field": "productUrl",
                "reason": "Product URL exceeds maximum length (2048 chars)",
                "value": "https://e.com/" + "a" * 2035,
            },
            id="url-too-long",
        ),
        pytest.param(
            {"product_url": "not a url"},
            {
                "field": "productUrl",
                "reason": "Product URL must be a valid URL format",
                "value": "not a url",
            },
            id="url-format",
        ),
        pytest.param(
            {"product_url": "javascript:alert(1)"},
            {
                "field": "productUrl",
                "reason": "Product URL scheme must be http: or https: (got javascript:)",
                "value": "javascript:alert(1)",
            },
            id="url-scheme",
        ),
        pytest.param(
            {"product_url": "http://127.0.0.1/"},
            {
                "field": "productUrl",
                "reason": "Product URL hostname must not be a private/loopback/link-local address",
                "value": "http://127.0.0.1/",
            },
            id="url-private",
        ),
        pytest.param(
            {"product_url": "https://xn--pypal-4ve.com/"},
            {
                "field": "productUrl",
                "reason": "Product URL hostname contains non-ASCII characters (IDN homograph guard)",  # noqa: E501
                "value": "https://xn--pypal-4ve.com/",
            },
            id="url-homograph",
        ),
        pytest.param(
            {"description": "d" * 50_001},
            {"field": "description", "reason": "Description exceeds maximum length (50000 chars)"},
            id="description-too-long-value-omitted",
        ),
        pytest.param(
            {"brand": "b" * 201},
            {
                "field": "brand",
                "reason": "Brand exceeds maximum length (200 chars)",
                "value": "b" * 201,
            },
            id="brand-too-long",
        ),
        pytest.param(
            {"categories": ["ok", "c" * 201, "d" * 300]},
            {
                "field": "categories",
                "reason": "Category exceeds maximum length (200 chars)",
                "value": "c" * 201,
            },
            id="category-first-offender-only",
        ),
        pytest.param(
            {"price": None},
            {"field": "price", "reason": "Price must be a non-negative number", "value": None},
            id="price-null",
        ),
    ],
)
def test_each_reason_string(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    assert errors_for(**changes) == [expected]


@pytest.mark.parametrize(
    ("price", "valid"),
    [
        pytest.param(Decimal("0"), True, id="zero"),
        pytest.param(Decimal("12.50"), True, id="decimal"),
        pytest.param(3, True, id="int"),
        pytest.param(3.5, True, id="float"),
        pytest.param(Decimal("-1"), False, id="negative-decimal"),
        pytest.param(-0.01, False, id="negative-float"),
        pytest.param(float("inf"), False, id="inf"),
        pytest.param(Decimal("NaN"), False, id="nan-decimal"),
        pytest.param(True, False, id="bool"),
        pytest.param("12", False, id="string"),
    ],
)
def test_price_rule(price: Any, valid: bool) -> None:
    assert (validate_item({**VALID, "price": price}) == []) is valid


def test_price_absent_is_fine() -> None:
    assert "price" not in VALID
    assert validate_item(VALID) == []


def test_decimal_value_rendered_as_text() -> None:
    (error,) = validate_item({**VALID, "price": Decimal("-1.50")})
    assert error.to_json() == {
        "field": "price",
        "reason": "Price must be a non-negative number",
        "value": "-1.50",
    }


@pytest.mark.parametrize(
    ("value", "too_long"),
    [
        pytest.param("x" * 500, False, id="ascii-at-limit"),
        pytest.param(EMOJI * 250, False, id="astral-at-limit"),
        pytest.param(EMOJI * 250 + "x", True, id="astral-over-by-one-code-unit"),
        pytest.param("\u00e9" * 500, False, id="bmp-non-ascii-at-limit"),
    ],
)
def test_lengths_count_utf16_code_units(value: str, too_long: bool) -> None:
    assert bool(validate_item({**VALID, "name": value})) is too_long


def test_utf16_len() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len(EMOJI) == 2
    assert utf16_len("\ud800") == 1  # lone surrogate does not crash


def test_errors_keep_upstream_field_order() -> None:
    item = {
        "price": None,
        "categories": ["c" * 201],
        "brand": "b" * 201,
        "description": "d" * 50_001,
        "product_url": "ftp://x",
        "sku": "",
        "name": "",
    }
    fields = [error.field for error in validate_item(item)]
    assert fields == [
        "name",
        "sku",
        "productUrl",
        "description",
        "brand",
        "categories",
        "price",
    ]


@pytest.mark.parametrize(
    ("name", "expected_value"),
    [
        pytest.param(123, 123, id="not-a-string"),
        pytest.param(None, None, id="null"),
        pytest.param("\u3000\ufeff", "\u3000\ufeff", id="js-whitespace-only"),
    ],
)
def test_name_required_reports_value(name: Any, expected_value: Any) -> None:
    (error,) = validate_item({**VALID, "name": name})
    assert error.to_json()["value"] == expected_value


def test_field_error_is_frozen() -> None:
    error = FieldError("name", "x", "v")
    with pytest.raises(AttributeError):
        error.field = "sku"  # type: ignore[misc]


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.decimals(),
    st.lists(st.one_of(st.text(), st.integers())),
)


_KEYS = st.sampled_from(sorted([*VALID, "price", "brand", "categories", "description"]))


@given(st.dictionaries(_KEYS, _VALUES))
def test_validate_item_never_raises_and_serialises(item: dict[str, Any]) -> None:
    for error in validate_item(item):
        json.dumps(error.to_json(), allow_nan=False)
