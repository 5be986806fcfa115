"""Tests for the embedding text recipe and its change hash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_lib.rules.embedding_text import build_embedding_text, hash_embedding_text

MODEL = "openai:text-embedding-3-small"

TENT: dict[str, Any] = {
    "name": "Trail Dome 2",
    "description": "Two-person, three-season\nbackpacking tent.",
    "brand": "Summit",
    "model": "TD2",
    "categories": ["Tents", "Backpacking"],
    "variants": [
        {"attribute": "Color", "values": ["Green", "Orange"]},
        {"attribute": "Size", "values": ["2P"]},
    ],
    "techs": {"Claimed Weight": "2.1 kg", "Hood": True, "Poles": 2},
    "color": "Green",
    "size": "2P",
    "material": "Nylon",
    "reviews": [{"title": "Great", "text": "Dry all night."}, {"title": "Roomy", "text": "Fits."}],
    "qas": [{"question": "Freestanding?", "answers": [{"a": "Yes."}, {"a": "Semi."}]}],
    "faqs": [{"question": "Footprint?", "answer": "Sold separately."}],
    "price": 349.95,
    "sku": "SKU-1",
    "product_url": "https://example.com/tent",
    "images": ["https://example.com/tent.jpg"],
}


def test_full_item_renders_every_part_in_spec_order() -> None:
    assert build_embedding_text(TENT) == (
        "Trail Dome 2 "
        "Two-person, three-season backpacking tent. "
        "Summit "
        "TD2 "
        "Tents, Backpacking "
        "Color: Green, Orange; Size: 2P "
        "Claimed Weight: 2.1 kg, Hood: true, Poles: 2 "
        "Green 2P Nylon "
        "Great Dry all night. Roomy Fits. "
        "Freestanding? Yes. Semi. "
        "Footprint? Sold separately."
    )


def test_price_sku_url_and_images_are_not_embedded() -> None:
    text = build_embedding_text(TENT)
    assert "349" not in text
    assert "SKU-1" not in text
    assert "example.com" not in text


def test_name_only_item() -> None:
    assert build_embedding_text({"name": "  Spork  "}) == "Spork"


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            {"name": "A", "variants": [{"size": "M"}]}, "A", id="variant-no-attr-no-values"
        ),
        pytest.param(
            {"name": "A", "variants": [{"attribute": "Size"}]}, "A Size", id="variant-no-values"
        ),
        pytest.param(
            {"name": "A", "variants": [{"attribute": "Size", "values": "M"}]},
            "A Size: M",
            id="variant-values-is-string",
        ),
        pytest.param(
            {"name": "A", "variants": [{"attribute": "Size", "values": [None, {"x": 1}, "M"]}]},
            "A Size: M",
            id="variant-bad-values-skipped",
        ),
        pytest.param({"name": "A", "variants": ["junk", 3, None]}, "A", id="variant-non-dicts"),
        pytest.param({"name": "A", "variants": {"attribute": "Fit"}}, "A Fit", id="variant-lone"),
        pytest.param({"name": "A", "qas": [{"question": "Q?"}]}, "A Q?", id="qa-no-answers"),
        pytest.param(
            {"name": "A", "qas": [{"question": "Q?", "answers": [{"user": "x"}, "Yes", 4]}]},
            "A Q? Yes",
            id="qa-bad-answers",
        ),
        pytest.param({"name": "A", "qas": [{"answers": None}]}, "A", id="qa-empty"),
        pytest.param({"name": "A", "reviews": [{"text": "Nice"}]}, "A Nice", id="review-no-title"),
        pytest.param({"name": "A", "reviews": [{"rating": 5}]}, "A", id="review-no-fields"),
        pytest.param({"name": "A", "reviews": [None, "text"]}, "A", id="review-non-dicts"),
        pytest.param({"name": "A", "faqs": [{"question": "Q"}]}, "A Q", id="faq-no-answer"),
        pytest.param({"name": "A", "techs": ["a", "b"]}, "A", id="techs-list"),
        pytest.param(
            {"name": "A", "techs": {"w": None, "x": {"y": 1}, "z": "1 kg", "n": float("nan")}},
            "A z: 1 kg",
            id="techs-bad-values",
        ),
        pytest.param({"name": "A", "categories": "Tents"}, "A Tents", id="categories-string"),
        pytest.param(
            {"name": "A", "categories": ["", None, " ", "Tents", ["x"]]},
            "A Tents",
            id="categories-junk",
        ),
        pytest.param({"name": None, "description": "D"}, "D", id="name-none"),
        pytest.param({"name": 12, "brand": 1.0, "model": 2.5}, "12 1 2.5", id="numbers"),
        pytest.param({"name": {"en": "A"}, "brand": ["B"]}, "", id="containers-as-scalars"),
        pytest.param({"name": "A\r\nB\rC\nD"}, "A B C D", id="line-breaks"),
        pytest.param({}, "", id="empty"),
    ],
)
def test_malformed_shapes_are_skipped(item: dict[str, Any], expected: str) -> None:
    assert build_embedding_text(item) == expected


def test_non_mapping_item_yields_empty_text() -> None:
    assert build_embedding_text(["name", "x"]) == ""  # type: ignore[arg-type]


# Element keys the recipe looks for, mixed with random ones, so nested shapes get exercised.
SHAPE_KEYS = ("attribute", "values", "title", "text", "question", "answers", "answer", "a")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(SHAPE_KEYS) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = (
    "name",
    "description",
    "brand",
    "model",
    "categories",
    "variants",
    "techs",
    "color",
    "size",
    "material",
    "reviews",
    "qas",
    "faqs",
)
items = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=6), json_values, max_size=len(FIELDS)
)


@settings(max_examples=200, deadline=None)
@given(items)
def test_never_raises_and_is_single_line(item: dict[str, Any]) -> None:
    text = build_embedding_text(item)
    assert isinstance(text, str)
    assert "\n" not in text
    assert "\r" not in text
    assert text == text.strip()
    given_text = " ".join(_texts(item))
    for literal in ("None", "undefined", "null", "nan", "inf"):
        if literal not in given_text:  # only text the input itself contained may show it
            assert literal not in text, literal


def _texts(value: Any) -> list[str]:
    """Every string (and number rendering) the item holds, keys included."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, str):
        return [value]
    return [] if value is None or isinstance(value, bool) else [str(value)]


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text(), st.text(min_size=1), st.text(min_size=1))
def test_hash_changes_with_text_or_model(
    text: str, other: str, model: str, other_model: str
) -> None:
    digest = hash_embedding_text(text, model=model)
    assert digest == hash_embedding_text(text, model=model)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    if other != text:
        assert hash_embedding_text(other, model=model) != digest
    if other_model != model:
        assert hash_embedding_text(text, model=other_model) != digest


def test_hash_is_unambiguous_between_model_and_text() -> None:
    assert hash_embedding_text("bc", model="a") != hash_embedding_text("c", model="ab")


def test_hash_is_stable_across_runs() -> None:
    # Pinned: a silent recipe change would re-embed (or, worse, never re-embed) the whole catalog.
    assert hash_embedding_text("Trail Dome 2", model=MODEL) == hash_embedding_text(
        build_embedding_text({"name": "Trail Dome 2"}), model=MODEL
    )
    assert hash_embedding_text("", model="none") == PINNED_EMPTY_HASH


PINNED_EMPTY_HASH = "3b463dc84f51df56759bdc24b9079924e6372f673c53d4f33fded5b59096eea8"
