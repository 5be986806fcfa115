"""Rejected rows are stored bounded: long values keep their size and a prefix."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_lib.rules.truncation import (
    MAX_DOCUMENT_CHARS,
    MAX_ENTRIES,
    MAX_STRING_CHARS,
    STRING_PREFIX_CHARS,
    bound_document,
    bound_value,
    is_truncation_marker,
)


def test_short_values_are_kept_as_they_are() -> None:
    item = {"name": "Tent", "price": Decimal("1.5"), "categories": ["a", "b"], "techs": {"k": 1}}
    assert bound_value(item) == item


def test_a_long_string_keeps_its_length_and_a_prefix() -> None:
    cell = "x" * (MAX_STRING_CHARS + 1)
    assert bound_value(cell) == {
        "truncated": True,
        "length": MAX_STRING_CHARS + 1,
        "prefix": "x" * STRING_PREFIX_CHARS,
    }
    assert bound_value("y" * MAX_STRING_CHARS) == "y" * MAX_STRING_CHARS


def test_long_lists_and_objects_keep_their_first_entries_bounded() -> None:
    many = ["z" * 5000] * (MAX_ENTRIES + 5)
    marker = bound_value({"images": many})["images"]
    assert is_truncation_marker(marker)
    assert marker["length"] == MAX_ENTRIES + 5
    assert len(marker["prefix"]) == MAX_ENTRIES
    assert marker["prefix"][0]["length"] == 5000
    wide = {f"k{i}": i for i in range(MAX_ENTRIES + 1)}
    bounded = bound_value(wide)
    assert bounded["length"] == MAX_ENTRIES + 1
    assert len(bounded["prefix"]) == MAX_ENTRIES


def test_a_document_still_too_large_becomes_one_marker() -> None:
    doc = {f"f{i}": "w" * MAX_STRING_CHARS for i in range(60)}
    bounded = bound_document(doc)
    assert is_truncation_marker(bounded)
    assert bounded["length"] > MAX_DOCUMENT_CHARS
    assert bounded["prefix"].startswith('{"f0":"www')


@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024])
def test_error_lists_are_bounded_too(size: int) -> None:
    errors = [{"field": "name", "reason": "Name exceeds maximum length (500 chars)", "value": "n"}]
    errors[0]["value"] = "n" * size
    text = json.dumps(bound_document(errors))
    assert len(text) < MAX_DOCUMENT_CHARS
    assert ("truncated" in text) is (size > MAX_STRING_CHARS)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3000),
    lambda inner: st.lists(inner, max_size=120) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=60,
)


@given(_JSON)
def test_any_document_is_bounded(doc: object) -> None:
    text = json.dumps(bound_document(doc), ensure_ascii=False)
    assert len(text) <= MAX_DOCUMENT_CHARS + 1000
